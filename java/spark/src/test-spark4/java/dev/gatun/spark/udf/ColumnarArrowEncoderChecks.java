package dev.gatun.spark.udf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.WriteChannel;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.spark.memory.MemoryMode;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.execution.arrow.ArrowWriter;
import org.apache.spark.sql.execution.arrow.ArrowWriter$;
import org.apache.spark.sql.execution.vectorized.ColumnVectorUtils;
import org.apache.spark.sql.execution.vectorized.ConstantColumnVector;
import org.apache.spark.sql.execution.vectorized.Dictionary;
import org.apache.spark.sql.execution.vectorized.OffHeapColumnVector;
import org.apache.spark.sql.execution.vectorized.OnHeapColumnVector;
import org.apache.spark.sql.execution.vectorized.WritableColumnVector;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.vectorized.ArrowColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.unsafe.types.CalendarInterval;
import org.apache.spark.unsafe.types.UTF8String;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The encoder against Spark's ArrowWriter over the same rows: every public static method is one
 * check, run by ColumnarArrowEncoderTest in a class loader holding PySpark's jars. A check passes
 * only if, batch after batch through one encoder, the root has the same schema, row count, per-row
 * nulls and values, and the same serialized IPC record batch as ArrowWriter's.
 */
public final class ColumnarArrowEncoderChecks {
    private ColumnarArrowEncoderChecks() {
    }

    /** A zone with DST, so a timestamp column's zone shows in its Arrow type. */
    private static final String TZ = "America/Los_Angeles";
    private static final BufferAllocator ALLOCATOR = new RootAllocator(Long.MAX_VALUE);

    private static final String[] STRINGS = {
        "", "a", "héllo", "日本語のテキスト", "😀 emoji ✓", "x".repeat(300), "tab\tnew\nline", "\u0000nul",
        "Ünïcödé ∑∂ƒ", "plain ascii text",
    };

    static StructType bulkSchema() {
        return new StructType()
                .add("b", DataTypes.BooleanType)
                .add("y", DataTypes.ByteType)
                .add("s", DataTypes.ShortType)
                .add("i", DataTypes.IntegerType)
                .add("l", DataTypes.LongType)
                .add("f", DataTypes.FloatType)
                .add("d", DataTypes.DoubleType)
                .add("dt", DataTypes.DateType)
                .add("ts", DataTypes.TimestampType)
                .add("ntz", DataTypes.TimestampNTZType)
                .add("str", DataTypes.StringType)
                .add("bin", DataTypes.BinaryType);
    }

    static StructType fallbackSchema() {
        return new StructType()
                .add("dec_small", DataTypes.createDecimalType(10, 2))
                .add("dec_big", DataTypes.createDecimalType(38, 10))
                .add("ints", DataTypes.createArrayType(DataTypes.IntegerType, true))
                .add("strs", DataTypes.createArrayType(DataTypes.StringType, true))
                .add("st", new StructType().add("a", DataTypes.IntegerType).add("b", DataTypes.StringType))
                .add("ci", DataTypes.CalendarIntervalType);
    }

    enum Nulls { NONE, SOME, ALL }

    private static Object value(DataType t, Random r) {
        if (t == DataTypes.BooleanType) {
            return r.nextBoolean();
        } else if (t == DataTypes.ByteType) {
            return (byte) r.nextInt();
        } else if (t == DataTypes.ShortType) {
            return (short) r.nextInt();
        } else if (t == DataTypes.IntegerType) {
            return r.nextInt(10) == 0 ? Integer.MIN_VALUE : r.nextInt();
        } else if (t == DataTypes.LongType) {
            return r.nextInt(10) == 0 ? Long.MAX_VALUE : r.nextLong();
        } else if (t == DataTypes.FloatType) {
            float[] odd = {Float.NaN, -0.0f, Float.POSITIVE_INFINITY, Float.MIN_VALUE};
            return r.nextInt(8) == 0 ? odd[r.nextInt(odd.length)] : r.nextFloat() * 1e6f - 5e5f;
        } else if (t == DataTypes.DoubleType) {
            double[] odd = {Double.NaN, -0.0, Double.NEGATIVE_INFINITY, Double.MAX_VALUE};
            return r.nextInt(8) == 0 ? odd[r.nextInt(odd.length)] : r.nextGaussian() * 1e9;
        } else if (t == DataTypes.DateType) {
            return new Date(((long) r.nextInt(200 * 365) - 100 * 365) * 86_400_000L);
        } else if (t == DataTypes.TimestampType) {
            Timestamp ts = new Timestamp(r.nextLong() % 4_000_000_000_000L);
            ts.setNanos(r.nextInt(1_000_000) * 1000);
            return ts;
        } else if (t == DataTypes.TimestampNTZType) {
            return LocalDateTime.of(1900 + r.nextInt(250), 1 + r.nextInt(12), 1 + r.nextInt(28), r.nextInt(24),
                    r.nextInt(60), r.nextInt(60), r.nextInt(1_000_000) * 1000);
        } else if (t == DataTypes.StringType) {
            return STRINGS[r.nextInt(STRINGS.length)] + (r.nextBoolean() ? "" : Integer.toString(r.nextInt()));
        } else if (t == DataTypes.BinaryType) {
            byte[] b = new byte[r.nextInt(40)];
            r.nextBytes(b);
            return b;
        } else if (t == DataTypes.CalendarIntervalType) {
            return new CalendarInterval(r.nextInt(100), r.nextInt(100), r.nextLong() % 1_000_000_000L);
        } else if (t instanceof org.apache.spark.sql.types.DecimalType d) {
            return BigDecimal.valueOf(r.nextLong() % (d.precision() > 18 ? Long.MAX_VALUE : 100_000_000L), d.scale());
        } else if (t instanceof org.apache.spark.sql.types.ArrayType a) {
            List<Object> list = new ArrayList<>();
            int n = r.nextInt(5);
            for (int i = 0; i < n; i++) {
                list.add(r.nextInt(5) == 0 ? null : value(a.elementType(), r));
            }
            return CollectionConverters.asScala(list).toSeq();  // Row.getList wants a Scala Seq
        } else if (t instanceof StructType s) {
            Object[] v = new Object[s.fields().length];
            for (int i = 0; i < v.length; i++) {
                v[i] = r.nextInt(5) == 0 ? null : value(s.fields()[i].dataType(), r);
            }
            return RowFactory.create(v);
        }
        throw new IllegalArgumentException(t.toString());
    }

    static List<Row> rows(StructType schema, int n, Nulls nulls, long seed) {
        Random r = new Random(seed);
        List<Row> rows = new ArrayList<>(n);
        StructField[] fields = schema.fields();
        for (int i = 0; i < n; i++) {
            Object[] v = new Object[fields.length];
            for (int c = 0; c < fields.length; c++) {
                boolean isNull = nulls == Nulls.ALL || (nulls == Nulls.SOME && r.nextInt(5) == 0);
                v[c] = isNull ? null : value(fields[c].dataType(), r);
            }
            rows.add(RowFactory.create(v));
        }
        return rows;
    }

    static ColumnarBatch batch(StructType schema, MemoryMode mode, int n, Nulls nulls, long seed) {
        return ColumnVectorUtils.toBatch(schema, mode, rows(schema, n, nulls, seed).iterator());
    }

    /** Batches of every shape, in an order that makes the encoder reuse and grow its buffers. */
    static List<ColumnarBatch> batches(StructType schema, MemoryMode mode) {
        return List.of(
                batch(schema, mode, 1000, Nulls.SOME, 1),
                batch(schema, mode, 777, Nulls.NONE, 2),
                batch(schema, mode, 64, Nulls.ALL, 3),
                batch(schema, mode, 0, Nulls.SOME, 4),
                batch(schema, mode, 5003, Nulls.SOME, 5),
                batch(schema, mode, 13, Nulls.NONE, 6),
                batch(schema, mode, 3, Nulls.ALL, 7),
                batch(schema, mode, 9, Nulls.SOME, 8));
    }

    // ---- the checks ------------------------------------------------------------------------

    public static void bulkTypesOnHeap() throws IOException {
        StructType schema = bulkSchema();
        compare("bulk on-heap", schema, batches(schema, MemoryMode.ON_HEAP), allBulk(schema, true));
    }

    public static void bulkTypesOffHeap() throws IOException {
        StructType schema = bulkSchema();
        compare("bulk off-heap", schema, batches(schema, MemoryMode.OFF_HEAP), allBulk(schema, true));
    }

    public static void fallbackTypesOnHeap() throws IOException {
        StructType schema = fallbackSchema();
        compare("fallback on-heap", schema, batches(schema, MemoryMode.ON_HEAP), allBulk(schema, false));
    }

    public static void fallbackTypesOffHeap() throws IOException {
        StructType schema = fallbackSchema();
        compare("fallback off-heap", schema, batches(schema, MemoryMode.OFF_HEAP), allBulk(schema, false));
    }

    /** Bulk and fallback columns interleaved in one batch, plus a map column (built by hand). */
    public static void mixedWithMap() throws IOException {
        StructType base = new StructType()
                .add("i", DataTypes.IntegerType)
                .add("dec", DataTypes.createDecimalType(10, 2))
                .add("str", DataTypes.StringType)
                .add("ints", DataTypes.createArrayType(DataTypes.IntegerType, true))
                .add("d", DataTypes.DoubleType);
        DataType mapType = DataTypes.createMapType(DataTypes.StringType, DataTypes.IntegerType, true);
        StructType schema = base.add("m", mapType);
        for (MemoryMode mode : MemoryMode.values()) {
            List<ColumnarBatch> batches = new ArrayList<>();
            int seed = 100;
            for (int n : new int[] {500, 0, 2049, 7}) {
                ColumnarBatch b = batch(base, mode, n, Nulls.SOME, seed++);
                ColumnVector[] cols = new ColumnVector[schema.fields().length];
                for (int c = 0; c < base.fields().length; c++) {
                    cols[c] = b.column(c);
                }
                cols[cols.length - 1] = mapColumn(mapType, mode, n, new Random(seed++));
                batches.add(new ColumnarBatch(cols, n));
            }
            compare("mixed " + mode, schema, batches, new boolean[] {true, false, true, false, true, false});
        }
    }

    private static ColumnVector mapColumn(DataType mapType, MemoryMode mode, int n, Random r) {
        WritableColumnVector m = mode == MemoryMode.ON_HEAP
                ? new OnHeapColumnVector(Math.max(n, 1), mapType) : new OffHeapColumnVector(Math.max(n, 1), mapType);
        WritableColumnVector keys = m.getChild(0);
        WritableColumnVector values = m.getChild(1);
        int offset = 0;
        for (int i = 0; i < n; i++) {
            if (r.nextInt(5) == 0) {
                m.putNull(i);
                m.putArray(i, offset, 0);
                continue;
            }
            int len = r.nextInt(4);
            keys.reserve(offset + len);
            values.reserve(offset + len);
            for (int j = 0; j < len; j++) {
                keys.putByteArray(offset + j, ("k" + j + STRINGS[r.nextInt(STRINGS.length)]).getBytes(StandardCharsets.UTF_8));
                if (r.nextInt(4) == 0) {
                    values.putNull(offset + j);
                } else {
                    values.putInt(offset + j, r.nextInt());
                }
            }
            m.putArray(i, offset, len);
            offset += len;
        }
        return m;
    }

    /** Arrow-backed input (Spark's ArrowColumnVector over ArrowWriter's own vectors). */
    public static void arrowColumnVectorInput() throws IOException {
        StructType schema = bulkSchema();
        List<ColumnarBatch> batches = new ArrayList<>();
        List<VectorSchemaRoot> roots = new ArrayList<>();
        try {
            int seed = 200;
            for (Nulls nulls : Nulls.values()) {
                ColumnarBatch src = batch(schema, MemoryMode.ON_HEAP, 300, nulls, seed++);
                ArrowWriter w = ArrowWriter$.MODULE$.create(schema, TZ, true, false);
                roots.add(w.root());
                for (int i = 0; i < src.numRows(); i++) {
                    w.write(src.getRow(i));
                }
                w.finish();
                ColumnVector[] cols = new ColumnVector[schema.fields().length];
                for (int c = 0; c < cols.length; c++) {
                    cols[c] = new ArrowColumnVector(w.root().getVector(c));
                }
                batches.add(new ColumnarBatch(cols, src.numRows()));
            }
            compare("ArrowColumnVector", schema, batches, allBulk(schema, true));
        } finally {
            roots.forEach(VectorSchemaRoot::close);
        }
    }

    /** ConstantColumnVector (partition values): values, null and a string. */
    public static void constantColumnVectors() throws IOException {
        StructType schema = new StructType()
                .add("i", DataTypes.IntegerType)
                .add("l", DataTypes.LongType)
                .add("s", DataTypes.StringType)
                .add("nul", DataTypes.IntegerType);
        List<ColumnarBatch> batches = new ArrayList<>();
        for (int n : new int[] {100, 0, 17}) {
            ConstantColumnVector i = new ConstantColumnVector(n, DataTypes.IntegerType);
            i.setInt(42 + n);
            ConstantColumnVector l = new ConstantColumnVector(n, DataTypes.LongType);
            l.setLong(-7L * n);
            ConstantColumnVector s = new ConstantColumnVector(n, DataTypes.StringType);
            s.setUtf8String(UTF8String.fromString("partition=日本" + n));
            ConstantColumnVector nul = new ConstantColumnVector(n, DataTypes.IntegerType);
            nul.setNull();
            batches.add(new ColumnarBatch(new ColumnVector[] {i, l, s, nul}, n));
        }
        compare("constant", schema, batches, allBulk(schema, true));
    }

    /** Dictionary-encoded vectors, as Spark's vectorized Parquet reader hands them out. */
    public static void dictionaryEncoded() throws IOException {
        StructType schema = new StructType()
                .add("i", DataTypes.IntegerType)
                .add("d", DataTypes.DoubleType)
                .add("s", DataTypes.StringType)
                .add("bin", DataTypes.BinaryType);
        int[] ints = {7, -1, Integer.MAX_VALUE, 0};
        double[] doubles = {1.5, Double.NaN, -0.0, 1e300};
        Dictionary dict = new Dictionary() {
            @Override
            public int decodeToInt(int id) {
                return ints[id];
            }

            @Override
            public long decodeToLong(int id) {
                throw new UnsupportedOperationException();
            }

            @Override
            public float decodeToFloat(int id) {
                throw new UnsupportedOperationException();
            }

            @Override
            public double decodeToDouble(int id) {
                return doubles[id];
            }

            @Override
            public byte[] decodeToBinary(int id) {
                return STRINGS[id].getBytes(StandardCharsets.UTF_8);
            }
        };
        List<ColumnarBatch> batches = new ArrayList<>();
        for (MemoryMode mode : MemoryMode.values()) {
            for (Nulls nulls : Nulls.values()) {
                int n = 333;
                Random r = new Random(300 + nulls.ordinal());
                ColumnVector[] cols = new ColumnVector[4];
                for (int c = 0; c < 4; c++) {
                    DataType t = schema.fields()[c].dataType();
                    WritableColumnVector v = mode == MemoryMode.ON_HEAP ? new OnHeapColumnVector(n, t) : new OffHeapColumnVector(n, t);
                    WritableColumnVector ids = v.reserveDictionaryIds(n);
                    for (int i = 0; i < n; i++) {
                        boolean isNull = nulls == Nulls.ALL || (nulls == Nulls.SOME && r.nextInt(4) == 0);
                        // A null row still gets an id, as a reader may leave one: it must not leak.
                        ids.putInt(i, r.nextInt(4));
                        if (isNull) {
                            v.putNull(i);
                        }
                    }
                    v.setDictionary(dict);
                    cols[c] = v;
                }
                batches.add(new ColumnarBatch(cols, n));
            }
        }
        compare("dictionary", schema, batches, allBulk(schema, true));
    }

    /** Stale values under null rows in a reused vector must come out as ArrowWriter's zeros. */
    public static void staleValuesUnderNulls() throws IOException {
        StructType schema = new StructType().add("l", DataTypes.LongType).add("b", DataTypes.BooleanType)
                .add("s", DataTypes.StringType);
        List<ColumnarBatch> batches = new ArrayList<>();
        for (MemoryMode mode : MemoryMode.values()) {
            int n = 100;
            WritableColumnVector l = mode == MemoryMode.ON_HEAP ? new OnHeapColumnVector(n, DataTypes.LongType)
                    : new OffHeapColumnVector(n, DataTypes.LongType);
            WritableColumnVector b = mode == MemoryMode.ON_HEAP ? new OnHeapColumnVector(n, DataTypes.BooleanType)
                    : new OffHeapColumnVector(n, DataTypes.BooleanType);
            WritableColumnVector s = mode == MemoryMode.ON_HEAP ? new OnHeapColumnVector(n, DataTypes.StringType)
                    : new OffHeapColumnVector(n, DataTypes.StringType);
            for (int i = 0; i < n; i++) {
                l.putLong(i, 0x0123456789abcdefL + i);
                b.putBoolean(i, true);
                s.putByteArray(i, ("stale" + i).getBytes(StandardCharsets.UTF_8));
                if (i % 3 == 0) {
                    l.putNull(i);
                    b.putNull(i);
                    s.putNull(i);
                }
            }
            batches.add(new ColumnarBatch(new ColumnVector[] {l, b, s}, n));
        }
        compare("stale", schema, batches, allBulk(schema, true));
    }

    // ---- batches gathered from several sources, wrapped rows, cuts --------------------------

    /** Every row of the batches, copied (a batch's row view is reused). */
    private static List<InternalRow> allRows(List<ColumnarBatch> batches) {
        List<InternalRow> rows = new ArrayList<>();
        for (ColumnarBatch b : batches) {
            for (int i = 0; i < b.numRows(); i++) {
                rows.add(b.getRow(i).copy());
            }
        }
        return rows;
    }

    /** The row wrapped in a one-field row, as Spark's map-in-batch evaluator wraps each input row. */
    private static InternalRow wrap(InternalRow row) {
        return new GenericInternalRow(new Object[] {row});
    }

    /**
     * Batches gathered from ranges of several source batches (begin, append..., finish) against
     * ArrowWriter over the same rows: cut points inside and across batches, at and off byte
     * boundaries of the validity bits, for bulk and fallback types.
     */
    public static void gatheredRangesMatchArrowWriter() throws IOException {
        for (StructType schema : List.of(bulkSchema(), fallbackSchema())) {
            for (MemoryMode mode : MemoryMode.values()) {
                List<ColumnarBatch> batches = batches(schema, mode);
                // (batch, row) of every row: the fallback schema's intervals cannot be copied out.
                List<int[]> rows = new ArrayList<>();
                for (int b = 0; b < batches.size(); b++) {
                    for (int i = 0; i < batches.get(b).numRows(); i++) {
                        rows.add(new int[] {b, i});
                    }
                }
                for (int size : new int[] {1, 7, 8, 13, 1000, 4096, 100_000}) {
                    String what = "gathered " + size + " " + mode + " " + schema.fields()[0].name();
                    ArrowWriter writer = ArrowWriter$.MODULE$.create(schema, TZ, true, false);
                    try (ColumnarArrowEncoder enc = ColumnarArrowEncoder.create(schema, TZ, false, ALLOCATOR)) {
                        int sent = 0;
                        int batch = 0;
                        int position = 0;
                        while (sent < rows.size()) {
                            enc.begin();
                            while (enc.rows() < size && sent + enc.rows() < rows.size()) {
                                while (position == batches.get(batch).numRows()) {
                                    batch++;
                                    position = 0;
                                }
                                int n = Math.min(size - enc.rows(), batches.get(batch).numRows() - position);
                                enc.append(batches.get(batch), position, n);
                                position += n;
                            }
                            VectorSchemaRoot got = enc.finish();
                            writer.reset();
                            for (int i = sent; i < sent + got.getRowCount(); i++) {
                                writer.write(batches.get(rows.get(i)[0]).getRow(rows.get(i)[1]));
                            }
                            writer.finish();
                            sameRoot(what + ", rows from " + sent, writer.root(), got);
                            sent += got.getRowCount();
                        }
                    } finally {
                        writer.root().close();
                    }
                }
            }
        }
    }

    /**
     * The wrapped encoder (one struct column, each row a non-null struct) against ArrowWriter of
     * the wrapped schema over wrapped rows: what Spark's mapInArrow and mapInPandas runners send.
     * Its size for k rows is ArrowWriter's sizeInBytes after k rows, at every k (what batches are
     * cut by).
     */
    public static void wrappedRowsMatchArrowWriter() throws IOException {
        for (StructType schema : List.of(bulkSchema(), fallbackSchema())) {
            StructType wrapped = ColumnarArrowEncoder.wrappedSchema(schema);
            for (MemoryMode mode : MemoryMode.values()) {
                String what = "wrapped " + mode + " " + schema.fields()[0].name();
                ArrowWriter writer = ArrowWriter$.MODULE$.create(wrapped, TZ, true, false);
                try (ColumnarArrowEncoder enc = ColumnarArrowEncoder.createWrapped(schema, TZ, false, ALLOCATOR)) {
                    check(enc.root().getSchema().equals(writer.root().getSchema()),
                            what + ": schema " + enc.root().getSchema() + " vs " + writer.root().getSchema());
                    for (ColumnarBatch batch : batches(schema, mode)) {
                        enc.begin();
                        enc.append(batch, 0, batch.numRows());
                        writer.reset();
                        for (int k = 0; k <= batch.numRows(); k++) {
                            long expected = writer.sizeInBytes();
                            if (enc.sizeInBytes(k) != expected) {
                                StringBuilder parts = new StringBuilder();
                                List<FieldVector> mine = ((org.apache.arrow.vector.complex.StructVector) enc.root().getVector(0)).getChildrenFromFields();
                                List<FieldVector> theirs = ((org.apache.arrow.vector.complex.StructVector) writer.root().getVector(0)).getChildrenFromFields();
                                for (int c = 0; c < mine.size(); c++) {
                                    parts.append(' ').append(mine.get(c).getName()).append('=').append(mine.get(c).getBufferSizeFor(k))
                                            .append('/').append(theirs.get(c).getBufferSizeFor(k));
                                }
                                check(false, what + ": size of " + k + " rows " + enc.sizeInBytes(k) + ", ArrowWriter's "
                                        + expected + ":" + parts);
                            }
                            if (k < batch.numRows()) {
                                writer.write(wrap(batch.getRow(k)));
                            }
                        }
                        writer.finish();
                        sameRoot(what + " (" + batch.numRows() + " rows)", writer.root(), enc.finish());
                    }
                }
                writer.root().close();
            }
        }
    }

    /** Rows appended then dropped again leave what appending only the kept rows leaves. */
    public static void truncateLeavesWhatAppendingLeaves() throws IOException {
        StructType schema = bulkSchema();
        for (MemoryMode mode : MemoryMode.values()) {
            ColumnarBatch batch = batch(schema, mode, 1000, Nulls.SOME, 40);
            ArrowWriter writer = ArrowWriter$.MODULE$.create(schema, TZ, true, false);
            try (ColumnarArrowEncoder enc = ColumnarArrowEncoder.create(schema, TZ, false, ALLOCATOR)) {
                for (int keep : new int[] {0, 1, 7, 8, 9, 500, 999}) {
                    enc.begin();
                    enc.append(batch, 0, 300);
                    enc.append(batch, 300, 700);
                    enc.truncate(keep);
                    check(enc.rows() == keep, "rows after truncate: " + enc.rows());
                    writer.reset();
                    for (int i = 0; i < keep; i++) {
                        writer.write(batch.getRow(i));
                    }
                    writer.finish();
                    sameRoot("truncated to " + keep + " " + mode, writer.root(), enc.finish());
                }
            } finally {
                writer.root().close();
            }
        }
    }

    /**
     * SizedArrowBatches against Spark's own cut (BatchedPythonArrowInput.writeSizedBatch: write a
     * row while fewer than maxRecords are in and ArrowWriter's size is under maxBytes), over
     * wrapped rows from source batches of every size, for record limits alone and with byte
     * limits that cut inside and across source batches.
     */
    public static void sizedBatchesCutWhereSparkCuts() throws IOException {
        StructType schema = new StructType().add("l", DataTypes.LongType).add("str", DataTypes.StringType)
                .add("dec", DataTypes.createDecimalType(10, 2));
        StructType wrapped = ColumnarArrowEncoder.wrappedSchema(schema);
        List<ColumnarBatch> batches = batches(schema, MemoryMode.OFF_HEAP);
        List<InternalRow> rows = allRows(batches);
        int[][] limits = {{1000, Integer.MAX_VALUE}, {0, Integer.MAX_VALUE}, {1, Integer.MAX_VALUE}, {999, 20_000},
            {10_000, 4096}, {10_000, 1}, {64, 64 << 20}};
        for (int[] limit : limits) {
            int maxRecords = limit[0];
            long maxBytes = limit[1];
            String what = "sized " + maxRecords + "/" + maxBytes;
            ArrowWriter writer = ArrowWriter$.MODULE$.create(wrapped, TZ, true, false);
            try (ColumnarArrowEncoder enc = ColumnarArrowEncoder.createWrapped(schema, TZ, false, ALLOCATOR)) {
                SizedArrowBatches sized = new SizedArrowBatches(batches.iterator(), enc, maxRecords, maxBytes);
                int records = maxRecords > 0 ? maxRecords : Integer.MAX_VALUE;
                int sent = 0;
                int count = 0;
                while (sent < rows.size()) {
                    writer.reset();
                    int n = 0;
                    while (sent + n < rows.size() && n < records
                            && (maxBytes == Integer.MAX_VALUE || writer.sizeInBytes() < maxBytes)) {
                        writer.write(wrap(rows.get(sent + n)));
                        n++;
                    }
                    writer.finish();
                    check(sized.hasNext(), what + ": ended after " + count + " batches, Spark has more");
                    ColumnarBatch got = sized.next();
                    check(got.numRows() == n, what + ", batch " + count + ": " + got.numRows() + " rows, Spark " + n);
                    sameRoot(what + ", batch " + count, writer.root(), enc.root());
                    sent += n;
                    count++;
                }
                check(!sized.hasNext(), what + ": more batches than Spark's " + count);
            } finally {
                writer.root().close();
            }
        }
    }

    /** A batch whose columns do not match the schema is refused, not mis-encoded. */
    public static void refusesMismatchedBatch() {
        StructType schema = new StructType().add("i", DataTypes.IntegerType);
        try (ColumnarArrowEncoder enc = ColumnarArrowEncoder.create(schema, TZ, false, ALLOCATOR)) {
            ColumnarBatch wrongType = batch(new StructType().add("l", DataTypes.LongType), MemoryMode.ON_HEAP, 5, Nulls.NONE, 1);
            expectRefusal(() -> enc.encode(wrongType), "column 0 is");
            ColumnarBatch wrongCount = batch(new StructType().add("i", DataTypes.IntegerType).add("j", DataTypes.IntegerType),
                    MemoryMode.ON_HEAP, 5, Nulls.NONE, 1);
            expectRefusal(() -> enc.encode(wrongCount), "the batch has 2 columns");
        }
    }

    private static void expectRefusal(Runnable r, String message) {
        try {
            r.run();
        } catch (IllegalArgumentException e) {
            check(e.getMessage().contains(message), "refusal says '" + message + "': " + e.getMessage());
            return;
        }
        throw new AssertionError("not refused: expected '" + message + "'");
    }

    // ---- comparison ------------------------------------------------------------------------

    private static boolean[] allBulk(StructType schema, boolean bulk) {
        boolean[] b = new boolean[schema.fields().length];
        Arrays.fill(b, bulk);
        return b;
    }

    static void compare(String what, StructType schema, List<ColumnarBatch> batches, boolean[] expectBulk) throws IOException {
        long before = ALLOCATOR.getAllocatedMemory();
        ArrowWriter writer = ArrowWriter$.MODULE$.create(schema, TZ, true, false);
        try (ColumnarArrowEncoder enc = ColumnarArrowEncoder.create(schema, TZ, false, ALLOCATOR)) {
            check(enc.root().getSchema().equals(writer.root().getSchema()),
                    what + ": schema " + enc.root().getSchema() + " vs ArrowWriter's " + writer.root().getSchema());
            for (int c = 0; c < expectBulk.length; c++) {
                check(enc.isBulk(c) == expectBulk[c], what + ": column " + schema.fields()[c].name()
                        + (expectBulk[c] ? " should be copied in bulk" : " should go through Spark's writer"));
            }
            for (int k = 0; k < batches.size(); k++) {
                ColumnarBatch batch = batches.get(k);
                writer.reset();
                for (int i = 0; i < batch.numRows(); i++) {
                    writer.write(batch.getRow(i));
                }
                writer.finish();
                VectorSchemaRoot got = enc.encode(batch);
                sameRoot(what + ", batch " + k + " (" + batch.numRows() + " rows)", writer.root(), got);
            }
        } finally {
            writer.root().close();
        }
        check(ALLOCATOR.getAllocatedMemory() == before, what + ": the encoder's root leaked "
                + (ALLOCATOR.getAllocatedMemory() - before) + " bytes");
    }

    static void sameRoot(String what, VectorSchemaRoot expected, VectorSchemaRoot actual) throws IOException {
        check(expected.getRowCount() == actual.getRowCount(),
                what + ": row count " + actual.getRowCount() + ", ArrowWriter " + expected.getRowCount());
        for (int c = 0; c < expected.getFieldVectors().size(); c++) {
            FieldVector e = expected.getVector(c);
            FieldVector a = actual.getVector(c);
            String col = what + ", column " + e.getName();
            check(e.getValueCount() == a.getValueCount(), col + ": value count " + a.getValueCount() + " vs " + e.getValueCount());
            check(e.getNullCount() == a.getNullCount(), col + ": null count " + a.getNullCount() + " vs " + e.getNullCount());
            for (int i = 0; i < e.getValueCount(); i++) {
                check(e.isNull(i) == a.isNull(i), col + ", row " + i + ": null " + a.isNull(i) + " vs " + e.isNull(i));
                Object ev = e.getObject(i);
                Object av = a.getObject(i);
                // Nested values come as maps and lists, where byte[]s compare by identity: those
                // compare by their JSON text (and the IPC bytes below compare everything).
                boolean same = ev instanceof byte[] eb && av instanceof byte[] ab ? Arrays.equals(eb, ab)
                        : Objects.equals(ev, av) || String.valueOf(ev).equals(String.valueOf(av));
                check(same, col + ", row " + i + ": " + show(av) + " vs ArrowWriter's " + show(ev));
            }
        }
        byte[] e = ipc(expected);
        byte[] a = ipc(actual);
        if (!Arrays.equals(e, a)) {
            int at = Arrays.mismatch(e, a);
            throw new AssertionError(what + ": IPC record batch differs from ArrowWriter's at byte " + at + " of "
                    + e.length + " (encoder: " + a.length + " bytes)");
        }
    }

    private static String show(Object v) {
        return v instanceof byte[] b ? Arrays.toString(b) : String.valueOf(v);
    }

    /** The record batch as Spark's Python runners serialize it (VectorUnloader, no compression). */
    static byte[] ipc(VectorSchemaRoot root) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ArrowRecordBatch batch = new VectorUnloader(root).getRecordBatch()) {
            MessageSerializer.serialize(new WriteChannel(Channels.newChannel(out)), batch);
        }
        return out.toByteArray();
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new AssertionError(message);
        }
    }
}
