# Measures the Python-side cost of encoding one call request: FlatBuffers builder vs fixed layout.
# Needs `pip install flatbuffers` (not a dependency of gatun). Numbers: spec/decisions/README.md.
import flatbuffers, struct, timeit
from flatbuffers import builder
# A minimal schema-like message: table Call { target:ulong; name:uint; args:[ubyte] (pre-encoded values) }
def fb_call(target, nid, args_bytes):
    b = flatbuffers.Builder(64)
    vec = b.CreateByteVector(args_bytes)
    b.StartObject(3)
    b.PrependUint64Slot(0, target, 0)
    b.PrependUint32Slot(1, nid, 0)
    b.PrependUOffsetTRelativeSlot(2, vec, 0)
    o = b.EndObject()
    b.Finish(o)
    return b.Output()
S = struct.Struct("<BQIH")
def fixed_call(target, nid):
    return S.pack(0, target, nid, 0)
mm = bytearray(4096)
H = struct.Struct("<IBBHQBQIH")
def fixed_into(target, nid):
    H.pack_into(mm, 512, 15, 1, 0, 0, 15, 0, target, nid, 0)
n=200000
for name, fn in [("flatbuffers builder, 0 args", lambda: fb_call(123456789, 5, b"")),
                 ("flatbuffers builder, 2 int args", lambda: fb_call(123456789, 5, b"\x06\x01\x00\x00\x00\x06\x02\x00\x00\x00")),
                 ("fixed struct.pack, 0 args", lambda: fixed_call(123456789, 5)),
                 ("fixed struct.pack_into region, 0 args", lambda: fixed_into(123456789, 5))]:
    t = min(timeit.repeat(fn, number=n, repeat=5))/n
    print(f"| {name} | {t*1e9:.0f} ns |")
B = flatbuffers.Builder(256)
def fb_reuse(target, nid):
    B.Clear()
    B.StartObject(3)
    B.PrependUint64Slot(0, target, 0)
    B.PrependUint32Slot(1, nid, 0)
    o = B.EndObject()
    B.Finish(o)
    return B.Output()
t = min(timeit.repeat(lambda: fb_reuse(123456789, 5), number=n, repeat=5))/n
print(f"| flatbuffers builder reused (Clear), 0 args | {t*1e9:.0f} ns |")
