package dev.gatun.arrow;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import org.apache.arrow.flatbuf.Message;
import org.apache.arrow.flatbuf.MessageHeader;
import org.apache.arrow.flatbuf.RecordBatch;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.ipc.ReadChannel;
import org.apache.arrow.vector.ipc.WriteChannel;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Arrow IPC encapsulated messages (continuation marker, metadata length, flatbuffer metadata, body)
 * read in place: the metadata is decoded from a view of the memory and the body becomes slices of
 * the same buffer, so loading the batch copies nothing.
 */
final class IpcMessages {
    private static final int CONTINUATION = 0xFFFFFFFF;

    private IpcMessages() {
    }

    /** Where the record batch message of a payload lies: from {@code start} to the end of its body. */
    private record Located(long start, long bodyStart, long bodyLength, Message message) {
    }

    /**
     * The record batch in {@code msg}: skips Schema messages before it (pyarrow's stream writer
     * puts one first). The batch's buffers are slices of {@code msg} holding their own references;
     * the caller keeps its reference to {@code msg} and releases it as usual.
     */
    static ArrowRecordBatch readBatch(ArrowBuf msg) throws IOException {
        Located batch = locateBatch(msg);
        RecordBatch header = (RecordBatch) batch.message().header(new RecordBatch());
        if (header == null) {
            throw new IOException("Arrow IPC record batch message without a header");
        }
        ArrowBuf body = msg.slice(batch.bodyStart(), batch.bodyLength());
        body.getReferenceManager().retain();
        try {
            return MessageSerializer.deserializeRecordBatch(header, body);
        } catch (IOException | RuntimeException e) {
            body.getReferenceManager().release();
            throw e;
        }
    }

    /**
     * The record batch message in {@code msg} (after any Schema messages), copied out as it is: the
     * encapsulated message bytes, metadata and body, with nothing decoded beyond the metadata.
     */
    static byte[] copyBatchMessage(ArrowBuf msg) throws IOException {
        Located batch = locateBatch(msg);
        long length = batch.bodyStart() + batch.bodyLength() - batch.start();
        if (length > Integer.MAX_VALUE - 8) {
            throw new IOException("an Arrow IPC message of " + length + " bytes does not fit in a Java byte[]");
        }
        byte[] out = new byte[(int) length];
        msg.getBytes(batch.start(), out);
        return out;
    }

    private static Located locateBatch(ArrowBuf msg) throws IOException {
        long pos = 0;
        long end = msg.capacity();
        while (pos + 8 <= end) {
            int marker = msg.getInt(pos);
            if (marker != CONTINUATION) {
                throw new IOException("not an Arrow IPC message at byte " + pos + " (no continuation marker)");
            }
            int metaLen = msg.getInt(pos + 4);
            if (metaLen <= 0 || metaLen > end - pos - 8) {
                throw new IOException("Arrow IPC message at byte " + pos + " has a bad metadata length " + metaLen);
            }
            ByteBuffer meta = msg.nioBuffer(pos + 8, metaLen).order(ByteOrder.LITTLE_ENDIAN);
            Message message = Message.getRootAsMessage(meta);
            long bodyStart = pos + 8 + metaLen;
            long bodyLen = message.bodyLength();
            if (bodyLen < 0 || bodyLen > end - bodyStart) {
                throw new IOException("Arrow IPC message at byte " + pos + " claims a body of " + bodyLen
                        + " bytes; only " + (end - bodyStart) + " are there");
            }
            switch (message.headerType()) {
                case MessageHeader.Schema:
                    pos = bodyStart + bodyLen;
                    continue;
                case MessageHeader.RecordBatch:
                    return new Located(pos, bodyStart, bodyLen, message);
                default:
                    throw new IOException("unsupported Arrow IPC message type "
                            + MessageHeader.name(message.headerType())
                            + " (dictionary-encoded columns are not supported on this path)");
            }
        }
        throw new IOException("no Arrow record batch in the " + end + " bytes handed over");
    }

    /** A schema from its IPC message bytes; dictionary-encoded fields are refused. */
    static Schema readSchema(byte[] schemaMessage) throws IOException {
        Schema schema;
        try (ReadChannel in = new ReadChannel(Channels.newChannel(new ByteArrayInputStream(schemaMessage)))) {
            schema = MessageSerializer.deserializeSchema(in);
        } catch (RuntimeException e) {
            throw new IOException("not an Arrow IPC schema message: " + e, e);
        }
        if (schema == null) {
            throw new IOException("not an Arrow IPC schema message (empty)");
        }
        for (Field f : schema.getFields()) {
            checkNoDictionary(f);
        }
        return schema;
    }

    private static void checkNoDictionary(Field f) {
        if (f.getDictionary() != null) {
            throw new IllegalArgumentException("field " + f.getName()
                    + " is dictionary-encoded; decode it first (not supported on the shared-memory path)");
        }
        for (Field c : f.getChildren()) {
            checkNoDictionary(c);
        }
    }

    /** A schema as one IPC message. */
    static byte[] writeSchema(Schema schema) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        MessageSerializer.serialize(new WriteChannel(Channels.newChannel(out)), schema);
        return out.toByteArray();
    }
}
