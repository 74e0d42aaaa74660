package dev.gatun.spark.udf;

import java.nio.ByteOrder;
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
 * buffers); not thread-safe. Spark 4 only: the columnar input of the Python runners it feeds is a
 * Spark 4 feature.
 */
public final class ColumnarArrowEncoder implements AutoCloseable {
    // Bulk copies move values in the machine's byte order; Arrow's is little-endian.
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private final StructType schema;
    private final VectorSchemaRoot root;
    private final boolean ownsRoot;
    private final Copier[] copiers;

    /**
     * An encoder writing into {@code root}, which must have one vector per field of {@code schema},
     * made as Spark makes them ({@code ArrowUtils.toArrowSchema} of the same schema); the caller
     * keeps ownership of the root.
     */
    public ColumnarArrowEncoder(StructType schema, VectorSchemaRoot root) {
        this(schema, root, false);
    }

    private ColumnarArrowEncoder(StructType schema, VectorSchemaRoot root, boolean ownsRoot) {
        StructField[] fields = schema.fields();
        if (root.getFieldVectors().size() != fields.length) {
            throw new IllegalArgumentException("the root has " + root.getFieldVectors().size()
                    + " vectors, the schema " + fields.length + " fields");
        }
        this.schema = schema;
        this.root = root;
        this.ownsRoot = ownsRoot;
        this.copiers = new Copier[fields.length];
        for (int i = 0; i < fields.length; i++) {
            copiers[i] = copier(i, fields[i].dataType(), root.getVector(i));
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
            return new ColumnarArrowEncoder(schema, root, true);
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
        if (batch.numCols() != copiers.length) {
            throw new IllegalArgumentException("the batch has " + batch.numCols() + " columns, the schema "
                    + copiers.length);
        }
        int n = batch.numRows();
        for (Copier c : copiers) {
            ColumnVector column = batch.column(c.ordinal);
            if (!c.accepts(column.dataType())) {
                throw new IllegalArgumentException("column " + c.ordinal + " is " + column.dataType()
                        + ", the schema says " + schema.fields()[c.ordinal].dataType());
            }
            c.copy(column, batch, n);
        }
        root.setRowCount(n);
        return root;
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

        abstract void copy(ColumnVector column, ColumnarBatch batch, int n);
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
        void copy(ColumnVector column, ColumnarBatch batch, int n) {
            // reset() zeroes the buffers, as ArrowWriter's reset does between batches: bytes this
            // copy does not write (bits past n, null slots) are then zero in both.
            vector.reset();
            while (vector.getValueCapacity() < n) {
                vector.reAlloc();
            }
            boolean hasNull = column.hasNull();
            // ColumnVector says a null's value is undefined, but ArrowColumnVector throws on it:
            // the bulk getters, which read every slot, are safe only on Spark's own vectors or
            // without nulls.
            boolean bulkSafe = !hasNull || column instanceof WritableColumnVector;
            if (n > 0) {
                ArrowBuf data = vector.getDataBuffer();
                if (kind == Kind.BOOLEAN) {
                    if (bulkSafe) {
                        writeBits(data, n, column.getBooleans(0, n), hasNull ? column : null, null);
                    } else {
                        writeBits(data, n, null, column, column);
                    }
                } else {
                    if (!copyMemory(column, data.memoryAddress(), n)) {
                        if (bulkSafe) {
                            copyArray(column, data.memoryAddress(), n);
                        } else {
                            copyPerRow(column, data, n);
                        }
                    }
                    if (hasNull) {
                        zeroNullSlots(column, data, n);
                    }
                }
                writeValidity(column, hasNull, vector.getValidityBuffer(), n);
            }
            vector.setValueCount(n);
        }

        /**
         * Sources whose memory already holds the values as Arrow lays them out (little-endian, the
         * same width): one memory copy, no Java array. False for any other source.
         */
        private boolean copyMemory(ColumnVector column, long address, int n) {
            long bytes = (long) n * kind.width;
            if (column instanceof OffHeapColumnVector off && !off.hasDictionary()) {
                Platform.copyMemory(null, off.valuesNativeAddress(), null, address, bytes);
                return true;
            }
            if (column instanceof ArrowColumnVector arrow
                    && arrow.getValueVector() instanceof BaseFixedWidthVector source
                    && source.getTypeWidth() == kind.width) {
                Platform.copyMemory(null, source.getDataBuffer().memoryAddress(), null, address, bytes);
                return true;
            }
            return false;
        }

        private void copyPerRow(ColumnVector column, ArrowBuf data, int n) {
            for (int i = 0; i < n; i++) {
                if (column.isNullAt(i)) {
                    continue;
                }
                long at = (long) i * kind.width;
                switch (kind) {
                    case BYTE -> data.setByte(at, column.getByte(i));
                    case SHORT -> data.setShort(at, column.getShort(i));
                    case INT -> data.setInt(at, column.getInt(i));
                    case LONG -> data.setLong(at, column.getLong(i));
                    case FLOAT -> data.setFloat(at, column.getFloat(i));
                    case DOUBLE -> data.setDouble(at, column.getDouble(i));
                    default -> throw new IllegalStateException(kind.toString());
                }
            }
        }

        private void copyArray(ColumnVector column, long address, int n) {
            long bytes = (long) n * kind.width;
            switch (kind) {
                case BYTE -> Platform.copyMemory(column.getBytes(0, n), Platform.BYTE_ARRAY_OFFSET, null, address, bytes);
                case SHORT -> Platform.copyMemory(column.getShorts(0, n), Platform.SHORT_ARRAY_OFFSET, null, address, bytes);
                case INT -> Platform.copyMemory(column.getInts(0, n), Platform.INT_ARRAY_OFFSET, null, address, bytes);
                case LONG -> Platform.copyMemory(column.getLongs(0, n), Platform.LONG_ARRAY_OFFSET, null, address, bytes);
                case FLOAT -> Platform.copyMemory(column.getFloats(0, n), Platform.FLOAT_ARRAY_OFFSET, null, address, bytes);
                case DOUBLE -> Platform.copyMemory(column.getDoubles(0, n), Platform.DOUBLE_ARRAY_OFFSET, null, address, bytes);
                default -> throw new IllegalStateException(kind.toString());
            }
        }

        // ArrowWriter leaves a null's slot as reset() left it (zero); the source's slot may hold
        // anything (an old value, a dictionary id).
        private void zeroNullSlots(ColumnVector column, ArrowBuf data, int n) {
            int width = kind.width;
            for (int i = 0; i < n; i++) {
                if (column.isNullAt(i)) {
                    data.setZero((long) i * width, width);
                }
            }
        }
    }

    /** Validity bits of rows [0, n): all set without nulls; bits past n stay 0. */
    private static void writeValidity(ColumnVector column, boolean hasNull, ArrowBuf validity, int n) {
        if (!hasNull) {
            int full = n >>> 3;
            validity.setOne(0L, full);
            if ((n & 7) != 0) {
                validity.setByte(full, (1 << (n & 7)) - 1);
            }
            return;
        }
        writeBits(validity, n, null, column, null);
    }

    /**
     * Bits of rows [0, n), a byte (8 rows) at a time: row i's bit is set when row i is not null in
     * {@code nulls} (none without), {@code values[i]} (all true without values) and
     * {@code booleans.getBoolean(i)} (read only for non-null rows; all true without). Booleans use
     * it with their nulls, so a null's data bit stays 0 as in ArrowWriter's output.
     */
    private static void writeBits(ArrowBuf bits, int n, boolean[] values, ColumnVector nulls, ColumnVector booleans) {
        for (int base = 0; base < n; base += 8) {
            int b = 0;
            int end = Math.min(8, n - base);
            for (int j = 0; j < end; j++) {
                int i = base + j;
                if ((nulls == null || !nulls.isNullAt(i)) && (values == null || values[i])
                        && (booleans == null || booleans.getBoolean(i))) {
                    b |= 1 << j;
                }
            }
            bits.setByte(base >>> 3, b);
        }
    }

    /**
     * Strings and binaries: offsets and bytes written into the vector's buffers, each value copied
     * once from the UTF8String's memory (no Java String, no byte[] for Spark's own vectors).
     */
    private static final class VarWidthCopier extends Copier {
        private final BaseVariableWidthVector vector;
        private final boolean string;

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
        void copy(ColumnVector column, ColumnarBatch batch, int n) {
            vector.reset();
            while (vector.getValueCapacity() < n) {
                vector.reallocValidityAndOffsetBuffers();
            }
            boolean hasNull = column.hasNull();
            // Spark's own vectors hand out a binary value as a UTF8String view of their memory
            // (getUTF8String does not look at the type); other implementations only as a byte[].
            boolean view = string || column instanceof WritableColumnVector;
            ArrowBuf offsets = vector.getOffsetBuffer();
            ArrowBuf data = vector.getDataBuffer();
            long end = 0;
            for (int i = 0; i < n; i++) {
                if (hasNull && column.isNullAt(i)) {
                    offsets.setInt((long) (i + 1) * BaseVariableWidthVector.OFFSET_WIDTH, (int) end);
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
                offsets.setInt((long) (i + 1) * BaseVariableWidthVector.OFFSET_WIDTH, (int) end);
            }
            if (n > 0) {
                writeValidity(column, hasNull, vector.getValidityBuffer(), n);
            }
            // setValueCount fills no holes past lastSet and sets the buffers' writer indexes as
            // ArrowWriter's finish() does.
            vector.setLastSet(n - 1);
            vector.setValueCount(n);
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
        void copy(ColumnVector column, ColumnarBatch batch, int n) {
            writer.reset();
            for (int i = 0; i < n; i++) {
                writer.write(batch.getRow(i), ordinal);
            }
            writer.finish();
        }
    }
}
