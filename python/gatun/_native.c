/*
 * The few things Python cannot do on shared memory by itself: acquire/release loads and stores,
 * a full fence and compare-and-swap on the channel's sequence and parked words, and a bounded spin
 * (spec/protocol.md §2). Everything else about the protocol stays in Python.
 *
 * Concurrency rules: the client writes only client_seq; the server writes only server_seq; the
 * parked words change only by the CAS dance of §2.2, so exactly one side clears a parked flag and a
 * doorbell byte is sent if and only if the parked side will read it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/socket.h>

#define OFF_CLIENT_SEQ 64
#define OFF_SERVER_SEQ 128
#define OFF_CLIENT_PARKED 192
#define OFF_SERVER_PARKED 256
#define HEADER_BYTES 512
#define FRAME_BYTES 16
#define FRAME_RETURN 0x40
#define TAG_NULL 0x00
#define TAG_TRUE 0x01
#define TAG_FALSE 0x02
#define TAG_INT 0x06
#define TAG_LONG 0x07
#define TAG_DOUBLE 0x09
#define TAG_STRING 0x0A
#define TAG_OBJECT 0x0C

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The wait policy (spec/protocol.md §2.2.1; the server's AdaptiveSpinWait follows the same rules):
 * how long a waiting client spins before it parks on the doorbell, learnt from how its recent
 * waits ended. Used only by the thread whose turn it is to wait, so it needs no atomics. */
#define POLICY_ADAPTIVE 0
#define POLICY_FIXED 1
#define MAX_SPIN_NS 50000ull
/* A probe's spin: long enough to catch a server that had to be woken on an idle machine. */
#define PROBE_SPIN_NS 200000ull
#define MIN_SPIN_NS 1000ull
#define MIN_PROBE_NS 1000000ull
#define MAX_PROBE_NS 100000000ull
/* Two clock reads of one spin further apart than this: the spinner lost its core (a scheduler slice,
 * milliseconds), not an interrupt or a hypervisor exit (up to ~100 µs: bench/results/clock_gaps.md). */
#define GAP_NS 200000ull
/* A spin reads the clock once per this many looks at the server's sequence word (a power of two). */
#define LOOKS_PER_CLOCK_READ 32u
/* The part of a spin done holding the GIL: most answers come within it, and other Python threads
 * wait at most this long for the GIL. */
#define HOT_SPIN_NS 5000ull
/* spin_for()'s outcomes. ARRIVED_LATE: the frame came, but the spinner lost its core on the way. */
#define SPIN_ARRIVED 0
#define SPIN_ARRIVED_LATE 1
#define SPIN_TIMED_OUT 2
#define SPIN_DESCHEDULED 3

typedef struct {
    int kind;
    int may_spin;             /* more than one CPU: a spin can overlap the server's work */
    uint64_t fixed_ns;        /* POLICY_FIXED: the spin of every wait (0: park at once) */
    uint64_t budget;          /* POLICY_ADAPTIVE: the next spin; 0 = park at once */
    uint64_t probe_backoff;
    uint64_t next_probe;
} WaitPolicy;

typedef struct {
    PyObject_HEAD
    Py_buffer view;
    int has_view;
    int fd;                 /* the channel's socket: doorbell and park */
    int state;              /* STATE_* below */
    uint64_t sent;          /* frames this client has published */
    uint64_t received;      /* server frames this client has taken */
    char *data;             /* the frame area */
    uint64_t capacity;      /* its size */
    uint64_t *client_seq;
    uint64_t *server_seq;
    uint32_t *client_parked;
    uint32_t *server_parked;
    WaitPolicy policy;
} Region;

/* The turn state lives here, not in Python, so that a KeyboardInterrupt raised between two Python
 * statements can never leave a published frame unsignalled or a doorbell byte unread. */
#define STATE_MY_TURN 0
#define STATE_WAITING 1
#define STATE_PARKED 2

/* Region(buffer, fd, policy_kind, fixed_spin_ns, cpus): policy_kind 0 adaptive, 1 fixed. */
static int Region_init(Region *self, PyObject *args, PyObject *kwds) {
    PyObject *obj;
    int fd, kind, cpus;
    unsigned long long fixed_ns;
    if (!PyArg_ParseTuple(args, "OiiKi", &obj, &fd, &kind, &fixed_ns, &cpus)) return -1;
    if ((kind != POLICY_ADAPTIVE && kind != POLICY_FIXED) || cpus < 1) {
        PyErr_SetString(PyExc_ValueError, "Region: bad wait policy");
        return -1;
    }
    if (self->has_view) {
        PyBuffer_Release(&self->view);
        self->has_view = 0;
    }
    if (PyObject_GetBuffer(obj, &self->view, PyBUF_WRITABLE) < 0) return -1;
    self->has_view = 1;
    if (self->view.len < HEADER_BYTES) {
        PyErr_SetString(PyExc_ValueError, "shared-memory region smaller than its 512-byte header");
        return -1;
    }
    char *base = (char *)self->view.buf;
    if (((uintptr_t)base & 63) != 0) {
        PyErr_SetString(PyExc_ValueError, "shared-memory region is not 64-byte aligned");
        return -1;
    }
    uint32_t data_off, capacity;
    memcpy(&data_off, base + 16, 4);
    memcpy(&capacity, base + 20, 4);
    if (data_off < HEADER_BYTES || (uint64_t)data_off + capacity > (uint64_t)self->view.len ||
        capacity < 4096) {
        PyErr_SetString(PyExc_ValueError, "bad shared-memory region header");
        return -1;
    }
    self->data = base + data_off;
    self->capacity = capacity;
    self->fd = fd;
    self->state = STATE_MY_TURN;
    self->client_seq = (uint64_t *)(base + OFF_CLIENT_SEQ);
    self->server_seq = (uint64_t *)(base + OFF_SERVER_SEQ);
    self->client_parked = (uint32_t *)(base + OFF_CLIENT_PARKED);
    self->server_parked = (uint32_t *)(base + OFF_SERVER_PARKED);
    self->sent = __atomic_load_n(self->client_seq, __ATOMIC_ACQUIRE);
    self->received = __atomic_load_n(self->server_seq, __ATOMIC_ACQUIRE);
    memset(&self->policy, 0, sizeof self->policy);
    self->policy.kind = kind;
    self->policy.fixed_ns = fixed_ns;
    self->policy.may_spin = cpus > 1;
    self->policy.budget = kind == POLICY_FIXED ? fixed_ns : cpus > 1 ? MAX_SPIN_NS : 0;
    self->policy.probe_backoff = MIN_PROBE_NS;
    return 0;
}

static void Region_dealloc(Region *self) {
    if (self->has_view) PyBuffer_Release(&self->view);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Region_release(Region *self, PyObject *unused) {
    if (self->has_view) {
        PyBuffer_Release(&self->view);
        self->has_view = 0;
    }
    Py_RETURN_NONE;
}

#define CHECK_OPEN(self)                                                         \
    if (!(self)->has_view) {                                                     \
        PyErr_SetString(PyExc_ValueError, "shared-memory region is released"); \
        return NULL;                                                             \
    }

/* Hand the turn to the server (the frame is already in the data area) and ring its doorbell if it
 * parked. -1 with a Python exception set on failure. */
static int do_publish(Region *self) {
    if (self->state != STATE_MY_TURN) {
        PyErr_SetString(PyExc_RuntimeError, "publish() while waiting for the server: channel misuse");
        return -1;
    }
    self->sent++;
    __atomic_store_n(self->client_seq, self->sent, __ATOMIC_RELEASE);
    self->state = STATE_WAITING;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(self->server_parked, __ATOMIC_ACQUIRE) == 1) {
        uint32_t expected = 1;
        if (__atomic_compare_exchange_n(self->server_parked, &expected, 0, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
            const char bell = 1;
            ssize_t r;
            do {
                r = send(self->fd, &bell, 1, MSG_NOSIGNAL);
            } while (r < 0 && errno == EINTR);
            if (r != 1) {
                PyErr_SetFromErrno(PyExc_ConnectionError);
                return -1;
            }
        }
    }
    return 0;
}

static PyObject *Region_publish(Region *self, PyObject *unused) {
    CHECK_OPEN(self);
    if (do_publish(self) < 0) return NULL;
    Py_RETURN_NONE;
}

static inline int arrived(Region *self) {
    return __atomic_load_n(self->server_seq, __ATOMIC_ACQUIRE) > self->received;
}

/* Raise the parked flag and look once more (spec §2.2). 1: the frame arrived meanwhile and this
 * side cleared its own flag, so no doorbell is coming; 0: read the doorbell. */
static int announce_park(Region *self) {
    __atomic_store_n(self->client_parked, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!arrived(self)) return 0;
    uint32_t one = 1;
    return __atomic_compare_exchange_n(self->client_parked, &one, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static inline void took_turn(Region *self) {
    self->received++;
    self->state = STATE_MY_TURN;
}

/* Spins from start until the clock passes start + limit: a SPIN_* outcome, or -1 when the limit
 * passed with nothing seen. *last is the previous clock read, carried across phases. */
static int spin_phase(Region *self, uint64_t start, uint64_t *last, uint64_t limit) {
    for (unsigned i = 1;; i++) {
        cpu_relax();
        if (arrived(self)) return now_ns() - *last > GAP_NS ? SPIN_ARRIVED_LATE : SPIN_ARRIVED;
        if ((i & (LOOKS_PER_CLOCK_READ - 1)) == 0) {
            uint64_t now = now_ns();
            if (now - *last > GAP_NS) return SPIN_DESCHEDULED;
            if (now - start >= limit) return -1;
            *last = now;
        }
    }
}

/* The one spin loop: pause-spins on the server's sequence word for up to budget ns, holding the
 * GIL for the first HOT_SPIN_NS and releasing it for the rest, reading the clock every 32 looks
 * and once more when the frame came. Returns a SPIN_* outcome; SPIN_DESCHEDULED or
 * SPIN_ARRIVED_LATE when two clock reads were more than GAP_NS apart. It never yields:
 * sched_yield is a weak hint on CFS/EEVDF, and behind a CPU-bound thread it can cost a whole
 * slice; the policy parks instead. */
static int spin_for(Region *self, uint64_t budget) {
    uint64_t start = now_ns(), last = start;
    int outcome = spin_phase(self, start, &last, budget < HOT_SPIN_NS ? budget : HOT_SPIN_NS);
    if (outcome >= 0) return outcome;
    if (budget <= HOT_SPIN_NS) return SPIN_TIMED_OUT;
    Py_BEGIN_ALLOW_THREADS
    outcome = spin_phase(self, start, &last, budget);
    Py_END_ALLOW_THREADS
    return outcome >= 0 ? outcome : SPIN_TIMED_OUT;
}

/* Spin as the policy says: 1 when the frame arrived, 0 when the caller must park. */
static int policy_spin(Region *self) {
    WaitPolicy *p = &self->policy;
    if (p->kind == POLICY_FIXED) return p->fixed_ns > 0 && spin_for(self, p->fixed_ns) <= SPIN_ARRIVED_LATE;
    if (!p->may_spin) return 0;
    int probe = 0;
    uint64_t spin = p->budget;
    if (spin == 0) {
        if ((int64_t)(now_ns() - p->next_probe) < 0) return 0;
        probe = 1;
        spin = PROBE_SPIN_NS;
    }
    int outcome = spin_for(self, spin);
    if (outcome == SPIN_ARRIVED) {
        p->budget = MAX_SPIN_NS;
        p->probe_backoff = MIN_PROBE_NS;
        return 1;
    }
    if (outcome == SPIN_TIMED_OUT && !probe) {
        p->budget /= 2;
        if (p->budget < MIN_SPIN_NS) {
            p->budget = 0;
            p->next_probe = now_ns() + p->probe_backoff;
        }
        return 0;
    }
    /* The spin lost its core (the frame may have come meanwhile: it cost a slice all the same),
     * or a probe did not pay. */
    p->budget = 0;
    if (probe) p->probe_backoff = p->probe_backoff * 2 < MAX_PROBE_NS ? p->probe_backoff * 2 : MAX_PROBE_NS;
    p->next_probe = now_ns() + p->probe_backoff;
    return outcome == SPIN_ARRIVED_LATE;
}

/* Wait for the server's frame: 0 when it is in the region, -1 when the server closed the socket
 * (it died or dropped the channel), -2 with a Python exception set. Spins as the wait policy says,
 * then parks in a blocking read of the doorbell, where Ctrl-C is delivered as KeyboardInterrupt
 * and a later wait resumes the same read. */
static int do_wait(Region *self) {
    if (self->state == STATE_MY_TURN) {
        PyErr_SetString(PyExc_RuntimeError, "wait() without a published frame: channel misuse");
        return -2;
    }
    if (self->state == STATE_WAITING) {
        if (arrived(self)) {
            took_turn(self);
            return 0;
        }
        if (policy_spin(self)) {
            took_turn(self);
            return 0;
        }
        if (announce_park(self)) {
            took_turn(self);
            return 0;
        }
        self->state = STATE_PARKED;
    }
    for (;;) {
        char bell;
        ssize_t r;
        int err;
        Py_BEGIN_ALLOW_THREADS
        r = recv(self->fd, &bell, 1, 0);
        err = errno;
        Py_END_ALLOW_THREADS
        if (r == 1) {
            if (arrived(self)) {
                took_turn(self);
                return 0;
            }
            /* A late doorbell of an earlier turn: the server stalled between publishing that
             * frame and reading our parked word, which by then announced this wait. It cleared
             * the word, so announce again (spec §2.2) before reading on. */
            if (announce_park(self)) {
                took_turn(self);
                return 0;
            }
            continue;
        }
        if (r == 0) return -1;
        if (err == EINTR) {
            if (PyErr_CheckSignals() < 0) return -2;
            continue;
        }
        errno = err;
        PyErr_SetFromErrno(PyExc_ConnectionError);
        return -2;
    }
}

/* wait() -> 0 (frame arrived) or -1 (server closed the channel). */
static PyObject *Region_wait(Region *self, PyObject *unused) {
    CHECK_OPEN(self);
    int r = do_wait(self);
    if (r == -2) return NULL;
    return PyLong_FromLong(r);
}

static PyObject *NOT_SIMPLE;  /* roundtrip()'s answer when Python must read the frame itself */

/* roundtrip(ftype, payload): the whole hot path of a small request in one call.
 * Writes the frame, hands the turn over, waits, and decodes a RETURN of a scalar, a string, or an
 * object reference (as the tuple (handle, shape); no other value decodes to a tuple).
 * Returns NOT_SIMPLE when the answer is anything else (it is then in the region, our turn), and
 * CLOSED when the server closed the channel. */
static PyObject *CLOSED;

static PyObject *Region_roundtrip(Region *self, PyObject *const *args, Py_ssize_t nargs) {
    CHECK_OPEN(self);
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "roundtrip(ftype, payload)");
        return NULL;
    }
    long ftype = PyLong_AsLong(args[0]);
    if (ftype == -1 && PyErr_Occurred()) return NULL;
    Py_buffer payload;
    if (PyObject_GetBuffer(args[1], &payload, PyBUF_SIMPLE) < 0) return NULL;
    if ((uint64_t)payload.len + FRAME_BYTES > self->capacity) {
        PyBuffer_Release(&payload);
        PyErr_SetString(PyExc_ValueError, "roundtrip() payload larger than one frame");
        return NULL;
    }
    if (self->state != STATE_MY_TURN) {
        PyBuffer_Release(&payload);
        PyErr_SetString(PyExc_RuntimeError, "roundtrip() while waiting for the server: channel misuse");
        return NULL;
    }
    char *frame = self->data;
    uint32_t len = (uint32_t)payload.len;
    uint64_t total = len;
    memcpy(frame, &len, 4);
    frame[4] = (char)ftype;
    frame[5] = 0;
    frame[6] = frame[7] = 0;
    memcpy(frame + 8, &total, 8);
    memcpy(frame + FRAME_BYTES, payload.buf, payload.len);
    PyBuffer_Release(&payload);
    if (do_publish(self) < 0) return NULL;
    int r = do_wait(self);
    if (r == -2) return NULL;
    if (r == -1) {
        Py_INCREF(CLOSED);
        return CLOSED;
    }
    uint32_t rlen;
    uint64_t rtotal;
    memcpy(&rlen, frame, 4);
    memcpy(&rtotal, frame + 8, 8);
    unsigned char rtype = (unsigned char)frame[4], rflags = (unsigned char)frame[5];
    /* Anything unusual (a header whose length and total differ included) is left to Python,
     * which checks it and fails the channel. */
    if (rtype != FRAME_RETURN || rflags != 0 || rlen < 1 || rtotal != rlen ||
        (uint64_t)rlen + FRAME_BYTES > self->capacity) {
        Py_INCREF(NOT_SIMPLE);
        return NOT_SIMPLE;
    }
    const char *v = frame + FRAME_BYTES;
    /* A RETURN carries exactly one value: a length that does not fit the value is left to Python,
     * which refuses it (spec/vectors negative "server_frames"). */
    switch ((unsigned char)v[0]) {
        case TAG_NULL:
            if (rlen != 1) break;
            Py_RETURN_NONE;
        case TAG_TRUE:
            if (rlen != 1) break;
            Py_RETURN_TRUE;
        case TAG_FALSE:
            if (rlen != 1) break;
            Py_RETURN_FALSE;
        case TAG_INT: {
            int32_t x;
            if (rlen != 5) break;
            memcpy(&x, v + 1, 4);
            return PyLong_FromLong(x);
        }
        case TAG_LONG: {
            int64_t x;
            if (rlen != 9) break;
            memcpy(&x, v + 1, 8);
            return PyLong_FromLongLong(x);
        }
        case TAG_DOUBLE: {
            double x;
            if (rlen != 9) break;
            memcpy(&x, v + 1, 8);
            return PyFloat_FromDouble(x);
        }
        case TAG_OBJECT: {
            uint64_t handle;
            if (rlen != 10) break;
            memcpy(&handle, v + 1, 8);
            return Py_BuildValue("(KB)", (unsigned long long)handle, (unsigned char)v[9]);
        }
        case TAG_STRING: {
            uint32_t n;
            if (rlen < 5) break;
            memcpy(&n, v + 1, 4);
            if ((uint64_t)n + 5 != rlen) break;
            return PyUnicode_DecodeUTF8(v + 5, n, "strict");
        }
    }
    Py_INCREF(NOT_SIMPLE);
    return NOT_SIMPLE;
}

/* policy_state() -> (spin budget ns, probe back-off ns): what the wait policy has learnt. */
static PyObject *Region_policy_state(Region *self, PyObject *unused) {
    return Py_BuildValue("(KK)", (unsigned long long)self->policy.budget,
                         (unsigned long long)self->policy.probe_backoff);
}

/* True while a published frame awaits the server's answer. */
static PyObject *Region_waiting(Region *self, PyObject *unused) {
    return PyBool_FromLong(self->state != STATE_MY_TURN);
}

static PyMethodDef Region_methods[] = {
    {"publish", (PyCFunction)Region_publish, METH_NOARGS, "Hand the turn to the server."},
    {"wait", (PyCFunction)Region_wait, METH_NOARGS,
     "Wait for the server's frame: 0 = arrived, -1 = the server closed the channel."},
    {"roundtrip", (PyCFunction)(void (*)(void))Region_roundtrip, METH_FASTCALL,
     "Send a one-frame request and return a scalar answer, NOT_SIMPLE or CLOSED."},
    {"policy_state", (PyCFunction)Region_policy_state, METH_NOARGS,
     "(spin budget ns, probe back-off ns) of the adaptive wait policy."},
    {"waiting", (PyCFunction)Region_waiting, METH_NOARGS, "True while a frame awaits its answer."},
    {"release", (PyCFunction)Region_release, METH_NOARGS, "Drop the buffer so the mmap can close."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RegionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gatun._native.Region",
    .tp_basicsize = sizeof(Region),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Atomic access to a channel's shared-memory header.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Region_init,
    .tp_dealloc = (destructor)Region_dealloc,
    .tp_methods = Region_methods,
};

/* store_release_u32(buffer, offset, value): the Arrow arena's span hand-back (spec/arrow.md §3).
 * The release store orders every read this process made of the span before the JVM's acquire
 * load sees the value, on any CPU, which a plain Python store into the mmap would not promise. */
static PyObject *store_release_u32(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "store_release_u32(buffer, offset, value)");
        return NULL;
    }
    Py_ssize_t offset = PyLong_AsSsize_t(args[1]);
    unsigned long value = PyLong_AsUnsignedLong(args[2]);
    if (PyErr_Occurred()) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_WRITABLE) < 0) return NULL;
    if (offset < 0 || offset % 4 != 0 || offset > view.len - 4 || value > 0xFFFFFFFFul) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "store_release_u32: offset out of range or unaligned, or value too large");
        return NULL;
    }
    __atomic_store_n((uint32_t *)((char *)view.buf + offset), (uint32_t)value, __ATOMIC_RELEASE);
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"store_release_u32", (PyCFunction)(void (*)(void))store_release_u32, METH_FASTCALL,
     "Store a u32 into a writable buffer with release ordering."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "gatun._native", "Shared-memory atomics for the Gatun channel and Arrow arena.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&RegionType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    NOT_SIMPLE = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    CLOSED = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    if (NOT_SIMPLE == NULL || CLOSED == NULL || PyModule_AddObjectRef(m, "NOT_SIMPLE", NOT_SIMPLE) < 0 ||
        PyModule_AddObjectRef(m, "CLOSED", CLOSED) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    /* The wait policy's constants, for the test that checks them against spec/vectors/constants.json. */
    PyObject *wait = Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:I}", "MAX_SPIN_NANOS", MAX_SPIN_NS,
                                   "PROBE_SPIN_NANOS", PROBE_SPIN_NS, "MIN_SPIN_NANOS", MIN_SPIN_NS,
                                   "MIN_PROBE_NANOS", MIN_PROBE_NS, "MAX_PROBE_NANOS", MAX_PROBE_NS,
                                   "GAP_NANOS", GAP_NS, "LOOKS_PER_CLOCK_READ", LOOKS_PER_CLOCK_READ);
    if (wait == NULL || PyModule_AddObject(m, "WAIT_POLICY", wait) < 0) {
        Py_XDECREF(wait);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&RegionType);
    if (PyModule_AddObject(m, "Region", (PyObject *)&RegionType) < 0) {
        Py_DECREF(&RegionType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
