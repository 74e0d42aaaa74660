package dev.gatun.spark.udf;

import java.nio.ByteOrder;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TimeStampMicroTZVector;
import org.apache.arrow.vector.TimeStampMicroVector;
import org.apache.arrow.vector.TinyIntVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.sql.execution.arrow.ArrowFieldWriter;
import org.apache.spark.sql.execution.arrow.ArrowWriter;
import org.apache.spark.sql.execution.arrow.ArrowWriter$;
import org.apache.spark.sql.execution.vectorized.OffHeapColumnVector;
import org.apache.spark.sql.execution.vectorized.WritableColumnVector;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.TimestampNTZType;
import org.apache.spark.sql.types.TimestampType;
import org.apache.spark.sql.vectorized.ArrowColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Copies a Spark {@link ColumnarBatch} (any {@link ColumnVector}: on-heap, off-heap, Arrow,
 * constant, dictionary-encoded) into the Arrow vectors of a {@link VectorSchemaRoot} whose schema is
 * Spark's own for the batch's {@link StructType}, so the vectors, and the IPC record batch a
 * {@code VectorUnloader} makes of them, are what Spark's {@link ArrowWriter} produces from the same
 * rows (the tests compare the two byte for byte).
 *
 * <p>Why: the Arrow Python runners turn a non-Arrow columnar batch (a cached relation, a Parquet
 * scan) back into rows and push every value through {@code ArrowWriter}, two virtual calls and a
 * capacity check per value; bench/results/udf_breakdown.md measured that as most of an identity
 * mapInArrow's task time. Fixed-width columns here are one bulk copy per column and batch, and
 * strings one copy per value straight from the UTF8String's memory; any other type (decimal,
 * arrays, maps, structs, intervals, large var types...) goes through Spark's own field writer over
 * the batch's rows, so its result is Spark's by construction.
 *
 * <p>One encoder serves one schema and is reused batch after batch (the vectors keep their
 * buffers); not thread-safe. A batch is either one source batch ({@link #encode}) or rows gathered
 * from several ({@link #begin}, {@link #append}, {@link #finish}), so that a consumer can get
 * batches of the size Spark itself would cut. Spark 4 only: the columnar input of the Python
 * runners it feeds is a Spark 4 feature.
 */
public final class ColumnarArrowEncoder implements AutoCloseable {
    // Bulk copies move values in the machine's byte order; Arrow's is little-endian.
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    /** The field name Spark's map-in-batch runners give the struct that wraps each input row. */
    static final String WRAPPING_FIELD = "struct";

    private final StructType schema;
    private final VectorSchemaRoot root;
    private final boolean ownsRoot;
    /** The struct each row is wrapped in (one column of the root), or null: columns are the root's. */
    private final StructVector wrapper;
    private final List<FieldVector> vectors;
    private final Copier[] copiers;
    private int rows;

    /**
     * An encoder writing into {@code root}, which must have one vector per field of {@code schema},
     * made as Spark makes them ({@code ArrowUtils.toArrowSchema} of the same schema); the caller
     * keeps ownership of the root.
     */
    public ColumnarArrowEncoder(StructType schema, VectorSchemaRoot root) {
        this(schema, root, root.getFieldVectors(), null, false);
    }

    private ColumnarArrowEncoder(StructType schema, VectorSchemaRoot root, List<FieldVector> vectors, StructVector wrapper,
            boolean ownsRoot) {
        StructField[] fields = schema.fields();
        if (vectors.size() != fields.length) {
            throw new IllegalArgumentException("the root has " + vectors.size() + " vectors, the schema " + fields.length
                    + " fields");
        }
        this.schema = schema;
        this.root = root;
        this.ownsRoot = ownsRoot;
        this.wrapper = wrapper;
        this.vectors = vectors;
        this.copiers = new Copier[fields.length];
        for (int i = 0; i < fields.length; i++) {
            copiers[i] = copier(i, fields[i].dataType(), vectors.get(i));
        }
    }

    /**
     * An encoder with its own root, allocated from {@code allocator}, with the Arrow schema Spark's
     * {@code ArrowWriter.create(schema, timeZoneId, true, largeVarTypes)} uses (what the Python
     * runners send for the same settings).
     */
    public static ColumnarArrowEncoder create(StructType schema, String timeZoneId, boolean largeVarTypes,
            BufferAllocator allocator) {
        return create(schema, sparkArrowSchema(schema, timeZoneId, largeVarTypes), allocator);
    }

    /**
     * The Arrow schema Spark's {@code ArrowWriter.create(schema, timeZoneId, true, largeVarTypes)}
     * writes (computed once, for callers that make many encoders).
     */
    public static Schema sparkArrowSchema(StructType schema, String timeZoneId, boolean largeVarTypes) {
        // ArrowUtils.toArrowSchema's overloads differ between Spark 4.2 (compiled against) and 4.3
        // (run on); ArrowWriter.create has the same signature on both, and its root's vectors stay
        // unallocated until written, so taking its schema costs no buffers.
        ArrowWriter probe = ArrowWriter$.MODULE$.create(schema, timeZoneId, true, largeVarTypes);
        Schema arrowSchema = probe.root().getSchema();
        probe.root().close();
        return arrowSchema;
    }

    /** An encoder with its own root of {@code arrowSchema} (from {@link #sparkArrowSchema}). */
    public static ColumnarArrowEncoder create(StructType schema, Schema arrowSchema, BufferAllocator allocator) {
        VectorSchemaRoot root = VectorSchemaRoot.create(arrowSchema, allocator);
        try {
            return new ColumnarArrowEncoder(schema, root, root.getFieldVectors(), null, true);
        } catch (RuntimeException e) {
            root.close();
            throw e;
        }
    }

    /**
     * The schema of {@link #createWrapped}'s root: one nullable struct column named
     * {@value #WRAPPING_FIELD} whose fields are {@code schema}'s, as Spark's mapInArrow and
     * mapInPandas runners declare their input.
     */
    public static StructType wrappedSchema(StructType schema) {
        return new StructType(new StructField[] {new StructField(WRAPPING_FIELD, schema, true, Metadata.empty())});
    }

    /**
     * An encoder with its own root holding one struct column ({@link #wrappedSchema}) whose children
     * take the batches' columns, every row a non-null struct: what Spark's map-in-batch runners make
     * with ArrowWriter of each row wrapped in a one-field row.
     */
    public static ColumnarArrowEncoder createWrapped(StructType schema, String timeZoneId, boolean largeVarTypes,
            BufferAllocator allocator) {
        VectorSchemaRoot root = VectorSchemaRoot.create(
                sparkArrowSchema(wrappedSchema(schema), timeZoneId, largeVarTypes), allocator);
        try {
            StructVector wrapper = (StructVector) root.getVector(0);
            return new ColumnarArrowEncoder(schema, root, wrapper.getChildrenFromFields(), wrapper, true);
        } catch (RuntimeException e) {
            root.close();
            throw e;
        }
    }

    public VectorSchemaRoot root() {
        return root;
    }

    public StructType schema() {
        return schema;
    }

    /** Whether column {@code ordinal} is copied in bulk (false: through Spark's field writer). */
    public boolean isBulk(int ordinal) {
        return !(copiers[ordinal] instanceof RowCopier);
    }

    /**
     * Replaces the root's contents with the batch's rows and returns the root (its row count set).
     * The batch's columns must have the schema's types, in order.
     */
    public VectorSchemaRoot encode(ColumnarBatch batch) {
        begin();
        append(batch, 0, batch.numRows());
        return finish();
    }

    /** Empties the root for a batch gathered with {@link #append}. */
    public void begin() {
        if (wrapper != null) {
            wrapper.reset();
        }
        for (Copier c : copiers) {
            c.begin();
        }
        rows = 0;
    }

    /** Rows appended since {@link #begin}. */
    public int rows() {
        return rows;
    }

    /**
     * Appends rows [from, from + n) of the batch after those already appended. The source batch
     * may be reused by its producer once this returns: its values have been copied.
     */
    public void append(ColumnarBatch batch, int from, int n) {
        if (batch.numCols() != copiers.length) {
            throw new IllegalArgumentException("the batch has " + batch.numCols() + " columns, the schema "
                    + copiers.length);
        }
        if (from < 0 || n < 0 || from > batch.numRows() - n) {
            throw new IllegalArgumentException("rows [" + from + ", " + from + " + " + n + ") of a batch of "
                    + batch.numRows());
        }
        if (n > Integer.MAX_VALUE - rows) {
            throw new IllegalArgumentException("more than " + Integer.MAX_VALUE + " rows in one batch");
        }
        for (Copier c : copiers) {
            ColumnVector column = batch.column(c.ordinal);
            if (!c.accepts(column.dataType())) {
                throw new IllegalArgumentException("column " + c.ordinal + " is " + column.dataType()
                        + ", the schema says " + schema.fields()[c.ordinal].dataType());
            }
        }
        if (n == 0) {
            return;
        }
        for (Copier c : copiers) {
            c.append(batch.column(c.ordinal), batch, from, n, rows);
        }
        rows += n;
    }

    /**
     * The bytes Spark's ArrowWriter reports ({@code sizeInBytes}) once the first {@code k} of the
     * rows appended since {@link #begin} are written: each top-level vector's
     * {@code getBufferSizeFor(k)}, which reads only what those rows wrote (offsets, lengths), so
     * the same rows give the same number here as there. What a consumer cuts batches by, as
     * Spark's {@code spark.sql.execution.arrow.maxBytesPerBatch} does.
     */
    public long sizeInBytes(int k) {
        if (k < 0 || k > rows) {
            throw new IllegalArgumentException("size of " + k + " rows, " + rows + " appended");
        }
        for (Copier c : copiers) {
            c.settle(rows);
        }
        if (wrapper != null) {
            return wrapper.getBufferSizeFor(k);
        }
        long bytes = 0;
        for (FieldVector v : vectors) {
            bytes += v.getBufferSizeFor(k);
        }
        return bytes;
    }

    /**
     * Drops the rows appended after the first {@code k}, as if they never were: the vectors hold
     * exactly what appending {@code k} rows leaves (a consumer appends a whole source range, then
     * finds the batch should have ended inside it).
     */
    public void truncate(int k) {
        if (k < 0 || k > rows) {
            throw new IllegalArgumentException("truncate to " + k + " rows, " + rows + " appended");
        }
        if (k == rows) {
            return;
        }
        for (Copier c : copiers) {
            c.truncate(k, rows);
        }
        rows = k;
    }

    /** Ends the batch begun by {@link #begin}: sets the value counts, and returns the root. */
    public VectorSchemaRoot finish() {
        for (Copier c : copiers) {
            c.finish(rows);
        }
        if (wrapper != null) {
            for (int i = 0; i < rows; i++) {
                wrapper.setIndexDefined(i);
            }
            wrapper.setValueCount(rows);
        }
        root.setRowCount(rows);
        return root;
    }

    /**
     * Frees the root's buffers (the vectors stay usable: the next {@link #begin} allocates again),
     * for a consumer done with the batches before the encoder is closed.
     */
    public void release() {
        root.clear();
        rows = 0;
    }

    @Override
    public void close() {
        if (ownsRoot) {
            root.close();
        }
    }

    // ---- per column -------------------------------------------------------------------------

    private static Copier copier(int ordinal, DataType type, FieldVector vector) {
        if (LITTLE_ENDIAN) {
            // Only the exact (Spark type, Arrow vector) pairs Spark's writers use; anything else,
            // including a type Spark maps differently in some configuration, takes Spark's writer.
            if (type instanceof BooleanType && vector instanceof BitVector v) {
                return new FixedCopier(ordinal, v, Kind.BOOLEAN);
            }
            if (type instanceof ByteType && vector instanceof TinyIntVector v) {
                return new FixedCopier(ordinal, v, Kind.BYTE);
            }
            if (type instanceof ShortType && vector instanceof SmallIntVector v) {
                return new FixedCopier(ordinal, v, Kind.SHORT);
            }
            if ((type instanceof IntegerType && vector instanceof IntVector)
                    || (type instanceof DateType && vector instanceof DateDayVector)) {
                return new FixedCopier(ordinal, (BaseFixedWidthVector) vector, Kind.INT);
            }
            if ((type instanceof LongType && vector instanceof BigIntVector)
                    || (type instanceof TimestampType && vector instanceof TimeStampMicroTZVector)
                    || (type instanceof TimestampNTZType && vector instanceof TimeStampMicroVector)) {
                return new FixedCopier(ordinal, (BaseFixedWidthVector) vector, Kind.LONG);
            }
            if (type instanceof FloatType && vector instanceof Float4Vector v) {
                return new FixedCopier(ordinal, v, Kind.FLOAT);
            }
            if (type instanceof DoubleType && vector instanceof Float8Vector v) {
                return new FixedCopier(ordinal, v, Kind.DOUBLE);
            }
        }
        if ((type instanceof StringType && vector instanceof VarCharVector)
                || (type instanceof BinaryType && vector instanceof VarBinaryVector)) {
            return new VarWidthCopier(ordinal, (BaseVariableWidthVector) vector, type instanceof StringType);
        }
        return new RowCopier(ordinal, type, ArrowWriter$.MODULE$.createFieldWriter(vector));
    }

    private abstract static class Copier {
        final int ordinal;

        Copier(int ordinal) {
            this.ordinal = ordinal;
        }

        abstract boolean accepts(DataType type);

        /** Empties the vector for a new batch. */
        abstract void begin();

        /** Copies rows [from, from + n) of the column into rows [at, at + n) of the vector; n > 0. */
        abstract void append(ColumnVector column, ColumnarBatch batch, int from, int n, int at);

        /**
         * Makes the vector's buffers describe its first {@code rows} rows, for sizes read before
         * {@link #finish}; by default they always do.
         */
        void settle(int rows) {
        }

        /** Drops rows [k, rows) again, leaving the vector as appending k rows does. */
        abstract void truncate(int k, int rows);

        /** Ends the batch at {@code count} rows. */
        abstract void finish(int count);
    }

    private enum Kind {
        BOOLEAN(0), BYTE(1), SHORT(2), INT(4), LONG(8), FLOAT(4), DOUBLE(8);

        final int width;

        Kind(int width) {
            this.width = width;
        }
    }

    /** Fixed-width values: one bulk copy into the data buffer, validity a byte (8 rows) at a time. */
    private static final class FixedCopier extends Copier {
        private final BaseFixedWidthVector vector;
        private final Kind kind;

        FixedCopier(int ordinal, BaseFixedWidthVector vector, Kind kind) {
            super(ordinal);
            this.vector = vector;
            this.kind = kind;
        }

        @Override
        boolean accepts(DataType type) {
            return switch (kind) {
                case BOOLEAN -> type instanceof BooleanType;
                case BYTE -> type instanceof ByteType;
                case SHORT -> type instanceof ShortType;
                case INT -> type instanceof IntegerType || type instanceof DateType;
                case LONG -> type instanceof LongType || type instanceof TimestampType || type instanceof TimestampNTZType;
                case FLOAT -> type instanceof FloatType;
                case DOUBLE -> type instanceof DoubleType;
            };
        }

        @Override
        void begin() {
            // reset() zeroes the buffers, as ArrowWriter's reset does between batches (and reAlloc
            // zeroes what it adds): bytes no copy writes (bits past the end, null slots) are then
            // zero in both, and bits can be OR-ed in.
            vector.reset();
        }

        @Override
        void append(ColumnVector column, ColumnarBatch batch, int from, int n, int at) {
            while (vector.getValueCapacity() < at + n) {
                vector.reAlloc();
            }
            boolean hasNull = column.hasNull();
            // ColumnVector says a null's value is undefined, but ArrowColumnVector throws on it:
            // the bulk getters, which read every slot, are safe only on Spark's own vectors or
            // without nulls.
            boolean bulkSafe = !hasNull || column instanceof WritableColumnVector;
            ArrowBuf data = vector.getDataBuffer();
            if (kind == Kind.BOOLEAN) {
                if (bulkSafe) {
                    writeBits(data, at, n, column.getBooleans(from, n), hasNull ? column : null, null, from);
                } else {
                    writeBits(data, at, n, null, column, column, from);
                }
            } else {
                long address = data.memoryAddress() + (long) at * kind.width;
                if (!copyMemory(column, from, address, n)) {
                    if (bulkSafe) {
                        copyArray(column, from, address, n);
                    } else {
                        copyPerRow(column, from, data, at, n);
                    }
                }
                if (hasNull) {
                    zeroNullSlots(column, from, data, at, n);
                }
            }
            writeValidity(column, hasNull, vector.getValidityBuffer(), from, n, at);
        }

        @Override
        void truncate(int k, int rows) {
            clearRows(vector, k, rows);
        }

        @Override
        void finish(int count) {
            vector.setValueCount(count);
        }

        /**
         * Sources whose memory already holds the values as Arrow lays them out (little-endian, the
         * same width): one memory copy, no Java array. False for any other source.
         */
        private boolean copyMemory(ColumnVector column, int from, long address, int n) {
            long bytes = (long) n * kind.width;
            long skip = (long) from * kind.width;
            if (column instanceof OffHeapColumnVector off && !off.hasDictionary()) {
                Platform.copyMemory(null, off.valuesNativeAddress() + skip, null, address, bytes);
                return true;
            }
            if (column instanceof ArrowColumnVector arrow
                    && arrow.getValueVector() instanceof BaseFixedWidthVector source
                    && source.getTypeWidth() == kind.width) {
                Platform.copyMemory(null, source.getDataBuffer().memoryAddress() + skip, null, address, bytes);
                return true;
            }
            return false;
        }

        private void copyPerRow(ColumnVector column, int from, ArrowBuf data, int at, int n) {
            for (int j = 0; j < n; j++) {
                int i = from + j;
                if (column.isNullAt(i)) {
                    continue;
                }
                long to = (long) (at + j) * kind.width;
                switch (kind) {
                    case BYTE -> data.setByte(to, column.getByte(i));
                    case SHORT -> data.setShort(to, column.getShort(i));
                    case INT -> data.setInt(to, column.getInt(i));
                    case LONG -> data.setLong(to, column.getLong(i));
                    case FLOAT -> data.setFloat(to, column.getFloat(i));
                    case DOUBLE -> data.setDouble(to, column.getDouble(i));
                    default -> throw new IllegalStateException(kind.toString());
                }
            }
        }

        private void copyArray(ColumnVector column, int from, long address, int n) {
            long bytes = (long) n * kind.width;
            switch (kind) {
                case BYTE -> Platform.copyMemory(column.getBytes(from, n), Platform.BYTE_ARRAY_OFFSET, null, address, bytes);
                case SHORT -> Platform.copyMemory(column.getShorts(from, n), Platform.SHORT_ARRAY_OFFSET, null, address, bytes);
                case INT -> Platform.copyMemory(column.getInts(from, n), Platform.INT_ARRAY_OFFSET, null, address, bytes);
                case LONG -> Platform.copyMemory(column.getLongs(from, n), Platform.LONG_ARRAY_OFFSET, null, address, bytes);
                case FLOAT -> Platform.copyMemory(column.getFloats(from, n), Platform.FLOAT_ARRAY_OFFSET, null, address, bytes);
                case DOUBLE -> Platform.copyMemory(column.getDoubles(from, n), Platform.DOUBLE_ARRAY_OFFSET, null, address, bytes);
                default -> throw new IllegalStateException(kind.toString());
            }
        }

        // ArrowWriter leaves a null's slot as reset() left it (zero); the source's slot may hold
        // anything (an old value, a dictionary id).
        private void zeroNullSlots(ColumnVector column, int from, ArrowBuf data, int at, int n) {
            int width = kind.width;
            for (int j = 0; j < n; j++) {
                if (column.isNullAt(from + j)) {
                    data.setZero((long) (at + j) * width, width);
                }
            }
        }
    }

    /** Validity bits of rows [at, at + n) from the column's rows [from, from + n). */
    private static void writeValidity(ColumnVector column, boolean hasNull, ArrowBuf validity, int from, int n, int at) {
        if (hasNull) {
            writeBits(validity, at, n, null, column, null, from);
            return;
        }
        int pos = at;
        int end = at + n;
        while (pos < end && (pos & 7) != 0) {
            orByte(validity, pos >>> 3, 1 << (pos & 7));
            pos++;
        }
        int full = (end - pos) >>> 3;
        if (full > 0) {
            validity.setOne(pos >>> 3, full);
            pos += full << 3;
        }
        while (pos < end) {
            orByte(validity, pos >>> 3, 1 << (pos & 7));
            pos++;
        }
    }

    private static void orByte(ArrowBuf bits, long index, int b) {
        bits.setByte(index, bits.getByte(index) | b);
    }

    /** Zeroes rows [k, rows) of a fixed-width vector, validity and values, as begin() left them. */
    private static void clearRows(BaseFixedWidthVector vector, int k, int rows) {
        clearBits(vector.getValidityBuffer(), k, rows);
        if (vector instanceof BitVector) {
            clearBits(vector.getDataBuffer(), k, rows);
        } else {
            int width = vector.getTypeWidth();
            vector.getDataBuffer().setZero((long) k * width, (long) (rows - k) * width);
        }
    }

    /** Zeroes bits [k, rows): what begin() left there before they were appended. */
    private static void clearBits(ArrowBuf bits, int k, int rows) {
        int pos = k;
        if ((pos & 7) != 0) {
            long index = pos >>> 3;
            bits.setByte(index, bits.getByte(index) & ((1 << (pos & 7)) - 1));
            pos = (pos | 7) + 1;
        }
        if (pos < rows) {
            bits.setZero(pos >>> 3, ((rows - 1) >>> 3) - (pos >>> 3) + 1);
        }
    }

    /**
     * Bits of rows [at, at + n), a byte (8 rows) at a time, OR-ed into bits that are still zero:
     * row at + j's bit is set when source row from + j is not null in {@code nulls} (none without),
     * {@code values[j]} (all true without values) and {@code booleans.getBoolean(from + j)} (read
     * only for non-null rows; all true without). Booleans use it with their nulls, so a null's data
     * bit stays 0 as in ArrowWriter's output.
     */
    private static void writeBits(ArrowBuf bits, int at, int n, boolean[] values, ColumnVector nulls, ColumnVector booleans,
            int from) {
        int pos = at;
        int end = at + n;
        int j = 0;
        while (pos < end) {
            long index = pos >>> 3;
            int b = 0;
            for (int bit = pos & 7; bit < 8 && pos < end; bit++, pos++, j++) {
                int i = from + j;
                if ((nulls == null || !nulls.isNullAt(i)) && (values == null || values[j])
                        && (booleans == null || booleans.getBoolean(i))) {
                    b |= 1 << bit;
                }
            }
            if (b != 0) {
                orByte(bits, index, b);
            }
        }
    }

    /**
     * Strings and binaries: offsets and bytes written into the vector's buffers, each value copied
     * once from the UTF8String's memory (no Java String, no byte[] for Spark's own vectors).
     */
    private static final class VarWidthCopier extends Copier {
        private final BaseVariableWidthVector vector;
        private final boolean string;
        private long end; // bytes of values written since begin()

        VarWidthCopier(int ordinal, BaseVariableWidthVector vector, boolean string) {
            super(ordinal);
            this.vector = vector;
            this.string = string;
        }

        @Override
        boolean accepts(DataType type) {
            return string ? type instanceof StringType : type instanceof BinaryType;
        }

        @Override
        void begin() {
            vector.reset();
            end = 0;
        }

        @Override
        void append(ColumnVector column, ColumnarBatch batch, int from, int n, int at) {
            while (vector.getValueCapacity() < at + n) {
                vector.reallocValidityAndOffsetBuffers();
            }
            boolean hasNull = column.hasNull();
            // Spark's own vectors hand out a binary value as a UTF8String view of their memory
            // (getUTF8String does not look at the type); other implementations only as a byte[].
            boolean view = string || column instanceof WritableColumnVector;
            ArrowBuf offsets = vector.getOffsetBuffer();
            ArrowBuf data = vector.getDataBuffer();
            long end = this.end;
            for (int j = 0; j < n; j++) {
                int i = from + j;
                long slot = (long) (at + j + 1) * BaseVariableWidthVector.OFFSET_WIDTH;
                if (hasNull && column.isNullAt(i)) {
                    offsets.setInt(slot, (int) end);
                    continue;
                }
                if (view) {
                    UTF8String s = column.getUTF8String(i);
                    int len = s.numBytes();
                    data = ensureData(data, end + len);
                    s.writeToMemory(null, data.memoryAddress() + end);
                    end += len;
                } else {
                    byte[] b = column.getBinary(i);
                    data = ensureData(data, end + b.length);
                    data.setBytes(end, b, 0, b.length);
                    end += b.length;
                }
                if (end > Integer.MAX_VALUE) {
                    throw new IllegalStateException("column " + ordinal + ": more than 2 GiB of values in one batch");
                }
                offsets.setInt(slot, (int) end);
            }
            this.end = end;
            writeValidity(column, hasNull, vector.getValidityBuffer(), from, n, at);
        }

        @Override
        void truncate(int k, int rows) {
            ArrowBuf offsets = vector.getOffsetBuffer();
            long keep = offsets.getInt((long) k * BaseVariableWidthVector.OFFSET_WIDTH);
            vector.getDataBuffer().setZero(keep, end - keep);
            offsets.setZero((long) (k + 1) * BaseVariableWidthVector.OFFSET_WIDTH,
                    (long) (rows - k) * BaseVariableWidthVector.OFFSET_WIDTH);
            clearBits(vector.getValidityBuffer(), k, rows);
            end = keep;
        }

        @Override
        void finish(int count) {
            // setValueCount fills no holes past lastSet and sets the buffers' writer indexes as
            // ArrowWriter's finish() does.
            vector.setLastSet(count - 1);
            vector.setValueCount(count);
        }

        private ArrowBuf ensureData(ArrowBuf data, long needed) {
            if (data.capacity() >= needed) {
                return data;
            }
            vector.reallocDataBuffer(needed);
            return vector.getDataBuffer();
        }
    }

    /** Any other type: Spark's own field writer over the batch's rows (a reused row view). */
    private static final class RowCopier extends Copier {
        private final DataType type;
        private final ArrowFieldWriter writer;

        RowCopier(int ordinal, DataType type, ArrowFieldWriter writer) {
            super(ordinal);
            this.type = type;
            this.writer = writer;
        }

        @Override
        boolean accepts(DataType t) {
            return DataType.equalsIgnoreNullability(t, type);
        }

        @Override
        void begin() {
            writer.reset();
        }

        @Override
        void append(ColumnVector column, ColumnarBatch batch, int from, int n, int at) {
            for (int j = 0; j < n; j++) {
                writer.write(batch.getRow(from + j), ordinal);
            }
        }

        /**
         * Nested vectors fill the offsets of null elements (holes) only when their value count is
         * set, and a size reads the offset after the last row: set it, as ArrowWriter does before
         * every size it reports (writing goes on after it).
         */
        @Override
        void settle(int rows) {
            writer.valueVector().setValueCount(rows);
        }

        @Override
        void truncate(int k, int rows) {
            // The field writer appends at its count: rewound, the rows past it are not part of the
            // batch. A fixed-width vector (decimals) is also cleared past it, as if never written;
            // a nested one keeps those bytes past its value counts, where no reader looks.
            writer.count_$eq(k);
            if (writer.valueVector() instanceof BaseFixedWidthVector v) {
                clearRows(v, k, rows);
            }
        }

        @Override
        void finish(int count) {
            writer.finish();
        }
    }
}
