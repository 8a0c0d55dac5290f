"""A minimal reelflow host in Python, speaking the real C ABI (include/reelflow/plugin.h, ABI 1.3)
through ctypes, for the publisher callbacks the host offers no path to yet: reconcile called
directly (the driver reaches it only when a post resumes after a crash in start or finalize) and
metrics (called by the scheduler of posts, never by a run). It can call any publisher callback,
so a test can build the session such a call needs (start, upload, finalize, poll) on the way.

Tests should prefer `reelflow run` (tests/publish/publish_support.py) wherever a host path
exists: it goes through the real driver, worker processes and store. Use this module only for
what that path cannot reach.

    host = AbiHost(so_path)                     # loads it, calls reelflow_plugin_entry(1, 3)
    pub = host.publisher("youtube.publish")     # create(host, "{}")
    result = pub.call("reconcile", post, session)
    result.status, result.status_name, result.output, result.error, result.logs,
    result.checkpoints
    pub.close()                                 # destroy; host.close() also closes what is left

The host table mirrors rf_host field for field, struct_size being its real size. The descriptor
is read the way the daemon's registry reads it: rf_plugin with its own struct_size (fields it
does not cover read as NULL/0), the publisher types with the stride of the first entry's
struct_size. Services behave like the daemon's (daemon/plugin_host/executor.cpp): set_output and
checkpoint take a JSON object or return -1, fail keeps the last message, secret and state_get
copy a value only if it fits and return its length (-1: none), artifact_dir is a directory of the
call's own, cancelled answers 1 once Publisher.cancel() was called during the call, call (the
daemon's services) answers from the `services` given to the constructor (name -> function of the
request dict returning the answer dict; an exception is the service's error) or -1 with
{"error": ...}. Every call
gets its own non-NULL rf_run handle; a log line with a NULL run (create, destroy) goes to
AbiHost.logs. Nothing is durable: checkpoints are only recorded, secrets come from the
constructor and state lives in AbiHost.state for the host's lifetime.
"""
import ctypes
import json
import shutil
import tempfile
import threading

ABI_MAJOR = 1
ABI_MINOR = 3

STATUS_NAMES = {0: "OK", 1: "ERROR", 2: "CANCELLED", 3: "RETRY", 4: "RECONNECT", 5: "LATER"}
LOG_LEVELS = {0: "debug", 1: "info", 2: "warn", 3: "error"}

_run = ctypes.c_void_p  # rf_run*: opaque
_LOG = ctypes.CFUNCTYPE(None, _run, ctypes.c_int, ctypes.c_char_p)
_PROGRESS = ctypes.CFUNCTYPE(None, _run, ctypes.c_double, ctypes.c_char_p)
_CANCELLED = ctypes.CFUNCTYPE(ctypes.c_int, _run)
# const char* result: returned as an address whose buffer this host keeps alive.
_ARTIFACT_DIR = ctypes.CFUNCTYPE(ctypes.c_void_p, _run)
_LOOKUP = ctypes.CFUNCTYPE(ctypes.c_long, _run, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t)
_STATE_SET = ctypes.CFUNCTYPE(ctypes.c_int, _run, ctypes.c_char_p, ctypes.c_char_p)
_JSON_IN = ctypes.CFUNCTYPE(ctypes.c_int, _run, ctypes.c_char_p)
_FAIL = ctypes.CFUNCTYPE(None, _run, ctypes.c_char_p)
_CALL = ctypes.CFUNCTYPE(ctypes.c_long, _run, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p,
                         ctypes.c_size_t)


class RfHost(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32),
                ("abi_major", ctypes.c_uint16),
                ("abi_minor", ctypes.c_uint16),
                ("log", _LOG),
                ("progress", _PROGRESS),
                ("cancelled", _CANCELLED),
                ("artifact_dir", _ARTIFACT_DIR),
                ("secret", _LOOKUP),
                ("state_get", _LOOKUP),
                ("state_set", _STATE_SET),
                ("set_output", _JSON_IN),
                ("fail", _FAIL),
                ("checkpoint", _JSON_IN),  # ABI 1.2
                ("call", _CALL)]           # ABI 1.3


_CREATE = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.POINTER(RfHost), ctypes.c_char_p)
_INSTANCE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_POST_CALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, _run, ctypes.c_char_p)
_SESSION_CALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, _run, ctypes.c_char_p,
                                 ctypes.c_char_p)


class RfPublisherType(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32),
                ("name", ctypes.c_char_p),
                ("platform", ctypes.c_char_p),
                ("summary", ctypes.c_char_p),
                ("flags", ctypes.c_uint32),
                ("options", ctypes.c_void_p),
                ("option_count", ctypes.c_size_t),
                ("account_options", ctypes.c_void_p),
                ("account_option_count", ctypes.c_size_t),
                ("create", _CREATE),
                ("destroy", _INSTANCE),
                ("cancel", _INSTANCE),
                ("prepare", _POST_CALL),
                ("start", _POST_CALL),
                ("upload", _SESSION_CALL),
                ("finalize", _SESSION_CALL),
                ("poll", _SESSION_CALL),
                ("reconcile", _SESSION_CALL),
                ("metrics", _SESSION_CALL),
                ("refresh", _POST_CALL)]  # (instance, run, account_json)


class RfPlugin(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32),
                ("abi_major", ctypes.c_uint16),
                ("abi_minor", ctypes.c_uint16),
                ("name", ctypes.c_char_p),
                ("version", ctypes.c_char_p),
                ("license", ctypes.c_char_p),
                ("summary", ctypes.c_char_p),
                ("step_types", ctypes.c_void_p),
                ("step_type_count", ctypes.c_size_t),
                ("trigger_types", ctypes.c_void_p),       # ABI 1.1
                ("trigger_type_count", ctypes.c_size_t),
                ("publisher_types", ctypes.c_void_p),     # ABI 1.2
                ("publisher_type_count", ctypes.c_size_t)]


# Callbacks taking only post_json (refresh: account_json); the others also take session_json.
POST_ONLY = ("prepare", "start", "refresh")
WITH_SESSION = ("upload", "finalize", "poll", "reconcile", "metrics")


def _read_sized(address, size, struct_type):
    """Like the registry's read_sized: a zeroed struct_type holding the first `size` bytes."""
    value = struct_type()
    ctypes.memmove(ctypes.addressof(value), address, min(size, ctypes.sizeof(struct_type)))
    return value


def _text(value):
    return value if isinstance(value, str) else json.dumps(value)


class Result:
    """What one callback returned and handed to the host during the call."""

    def __init__(self, which):
        self.which = which
        self.status = None
        self.output = None       # the last object given to set_output, or None
        self.error = None        # the last fail() message, or None when fail was not called
        self.logs = []           # (level, message), level as in rf_log_level (0 = debug)
        self.checkpoints = []    # every object given to checkpoint, in order
        self.progress = []       # (fraction, message or None)
        self.artifact_dir = None
        self.cancel_requested = False
        self.handle = ctypes.c_char()  # its address is the call's rf_run*
        self.artifact_dir_buffer = None
        self.callback_errors = []

    @property
    def status_name(self):
        return STATUS_NAMES.get(self.status, str(self.status))

    @property
    def ok(self):
        return self.status == 0

    def __repr__(self):
        return (f"Result({self.which}: status={self.status_name}, output={self.output}, "
                f"error={self.error!r}, checkpoints={self.checkpoints}, logs={self.logs})")


class AbiHost:
    """One loaded plugin and the rf_host table every instance made here receives."""

    def __init__(self, so_path, secrets=None, host_minor=ABI_MINOR, services=None):
        self.path = so_path
        self.secrets = dict(secrets or {})  # name -> value, for rf_host.secret
        self.services = dict(services or {})  # name -> function(request) -> answer, rf_host.call
        self.state = {}                     # rf_host.state_get/state_set
        self.logs = []                      # (level, message) logged with a NULL run
        self._lock = threading.Lock()
        self._calls = {}                    # rf_run address -> Result of the call in progress
        self._publishers = []
        self._root = tempfile.mkdtemp(prefix="abi_host.")
        self._no_dir = ctypes.create_string_buffer(b"")  # artifact_dir outside a call: ""

        self.library = ctypes.CDLL(so_path)
        entry = self.library.reelflow_plugin_entry
        entry.restype = ctypes.c_void_p
        entry.argtypes = [ctypes.c_uint16, ctypes.c_uint16]
        address = entry(ABI_MAJOR, host_minor)
        if not address:
            raise RuntimeError(f"{so_path}: reelflow_plugin_entry({ABI_MAJOR}, {host_minor}) "
                               "returned NULL")
        size = ctypes.c_uint32.from_address(address).value
        if size < RfPlugin.name.offset:
            raise RuntimeError(f"{so_path}: malformed plugin descriptor: struct_size is {size}")
        self.plugin = _read_sized(address, size, RfPlugin)
        if self.plugin.abi_major != ABI_MAJOR or self.plugin.abi_minor > host_minor:
            raise RuntimeError(f"{so_path}: built for ABI {self.plugin.abi_major}."
                               f"{self.plugin.abi_minor}, this host speaks "
                               f"{ABI_MAJOR}.{host_minor}")
        self.name = self.plugin.name.decode()
        self.publisher_types = self._read_publisher_types()

        # The table (and the callbacks in it) must outlive every instance: kept on self.
        self.table = RfHost(ctypes.sizeof(RfHost), ABI_MAJOR, ABI_MINOR,
                            _LOG(self._log), _PROGRESS(self._progress),
                            _CANCELLED(self._cancelled), _ARTIFACT_DIR(self._artifact_dir),
                            _LOOKUP(self._secret), _LOOKUP(self._state_get),
                            _STATE_SET(self._state_set), _JSON_IN(self._set_output),
                            _FAIL(self._fail), _JSON_IN(self._checkpoint), _CALL(self._call))

    def _read_publisher_types(self):
        """name -> RfPublisherType, each entry at the stride of the first one's struct_size."""
        count = self.plugin.publisher_type_count
        base = self.plugin.publisher_types
        if count == 0 or not base:
            return {}
        stride = ctypes.c_uint32.from_address(base).value
        if stride < ctypes.sizeof(RfPublisherType):  # it came whole with ABI 1.2
            raise RuntimeError(f"{self.path}: malformed rf_publisher_type: struct_size is "
                               f"{stride}, ABI 1.2 needs {ctypes.sizeof(RfPublisherType)}")
        types = {}
        for index in range(count):
            address = base + index * stride
            own = ctypes.c_uint32.from_address(address).value
            if own != stride:
                raise RuntimeError(f"{self.path}: publisher type #{index + 1}: struct_size is "
                                   f"{own} but the array's first entry says {stride}")
            publisher_type = _read_sized(address, stride, RfPublisherType)
            types[publisher_type.name.decode()] = publisher_type
        return types

    def publisher(self, name, config="{}"):
        """A new instance of the publisher type `name` (create with config, a dict or text)."""
        if name not in self.publisher_types:
            raise LookupError(f"{self.path} has no publisher type {name!r} "
                              f"(it has {sorted(self.publisher_types)})")
        publisher = Publisher(self, self.publisher_types[name], _text(config))
        self._publishers.append(publisher)
        return publisher

    def close(self):
        for publisher in self._publishers:
            publisher.close()
        self._publishers.clear()
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    # --- calls in progress, by rf_run handle ------------------------------------------------

    def _begin(self, result):
        with self._lock:
            self._calls[ctypes.addressof(result.handle)] = result

    def _end(self, result):
        with self._lock:
            self._calls.pop(ctypes.addressof(result.handle), None)

    def _call_of(self, run):
        if not run:
            return None
        with self._lock:
            return self._calls.get(run)

    # --- rf_host services --------------------------------------------------------------------
    # A Python exception must not unwind into the plugin: each service catches it, answers as
    # the daemon does on failure, and records it on the call (Publisher.call raises it after).

    def _guard(self, run, failed, function):
        try:
            return function(self._call_of(run))
        except Exception as error:  # noqa: BLE001
            call = self._call_of(run)
            if call is not None:
                call.callback_errors.append(error)
            return failed

    def _log(self, run, level, message):
        line = (level, message.decode() if message is not None else "")
        self._guard(run, None, lambda call: (call.logs if call else self.logs).append(line))

    def _progress(self, run, fraction, message):
        def record(call):
            if call is not None:
                call.progress.append((fraction, message.decode() if message else None))
        self._guard(run, None, record)

    def _cancelled(self, run):
        return self._guard(run, 0, lambda call: 1 if call and call.cancel_requested else 0)

    def _artifact_dir(self, run):
        def directory(call):
            if call is None:
                return ctypes.addressof(self._no_dir)
            if call.artifact_dir is None:
                call.artifact_dir = tempfile.mkdtemp(prefix=call.which + ".", dir=self._root)
                call.artifact_dir_buffer = ctypes.create_string_buffer(call.artifact_dir.encode())
            return ctypes.addressof(call.artifact_dir_buffer)
        return self._guard(run, None, directory)

    @staticmethod
    def _copy_out(value, buf, cap):
        if value is None:
            return -1
        data = value.encode()
        if buf and cap > len(data):
            ctypes.memmove(buf, data + b"\0", len(data) + 1)
        return len(data)

    def _secret(self, run, name, buf, cap):
        return self._guard(run, -1, lambda call: -1 if call is None or name is None else
                           self._copy_out(self.secrets.get(name.decode()), buf, cap))

    def _state_get(self, run, key, buf, cap):
        return self._guard(run, -1, lambda call: -1 if call is None or key is None else
                           self._copy_out(self.state.get(key.decode()), buf, cap))

    def _state_set(self, run, key, value):
        def store(call):
            if call is None or key is None:
                return -1
            if value is None:
                self.state.pop(key.decode(), None)
            else:
                self.state[key.decode()] = value.decode()
            return 0
        return self._guard(run, -1, store)

    @staticmethod
    def _object(call, text, service):
        """The JSON object in text, or None after a warning (what the daemon does)."""
        try:
            value = json.loads(text.decode()) if text is not None else None
        except ValueError:
            value = None
        if not isinstance(value, dict):
            call.logs.append((2, f"{service} refused: not a JSON object"))
            return None
        return value

    def _set_output(self, run, text):
        def store(call):
            if call is None:
                return -1
            value = self._object(call, text, "set_output")
            if value is None:
                return -1
            call.output = value
            return 0
        return self._guard(run, -1, store)

    def _checkpoint(self, run, text):
        def store(call):
            if call is None:
                return -1
            value = self._object(call, text, "checkpoint")
            if value is None:
                return -1
            call.checkpoints.append(value)
            return 0
        return self._guard(run, -1, store)

    def _call(self, run, service, request, buf, cap):
        def answer(call):
            name = service.decode() if service is not None else ""
            try:
                value = json.loads(request.decode()) if request is not None else None
            except ValueError:
                value = None
            if call is None:
                text, ok = json.dumps({"error": "rf_host.call outside a call"}), False
            elif not isinstance(value, dict):
                text, ok = json.dumps({"error": f"{name}: the request is not a JSON object"}), False
            elif name not in self.services:
                text, ok = json.dumps({"error": f"{name} is not available: this host offers "
                                                "no daemon services"}), False
            else:
                try:
                    text, ok = json.dumps(self.services[name](value)), True
                except Exception as error:  # noqa: BLE001 - the service's failure
                    text, ok = json.dumps({"error": str(error)}), False
            length = self._copy_out(text, buf, cap)
            return length if ok else -1
        return self._guard(run, -1, answer)

    def _fail(self, run, message):
        def store(call):
            if call is not None:
                call.error = message.decode() if message is not None else ""
        self._guard(run, None, store)


class Publisher:
    """One instance of a publisher type. Calls come from one thread at a time, as plugin.h asks;
    cancel() may come from any thread."""

    def __init__(self, host, publisher_type, config_text):
        self.host = host
        self.type = publisher_type
        self.name = publisher_type.name.decode()
        self.current = None
        self.instance = publisher_type.create(ctypes.byref(host.table), config_text.encode())
        if not self.instance:
            raise RuntimeError(f"{self.name}: create returned NULL; logged: {host.logs}")

    def call(self, which, post, session=None):
        """Calls `which` (prepare, start, upload, finalize, poll, reconcile, metrics, refresh)
        with post (for refresh: the account) and, for the callbacks that take one, the session
        ({} when None). post and session are dicts or JSON text. Returns a Result."""
        if not self.instance:
            raise RuntimeError(f"{self.name}: the instance is closed")
        if which not in POST_ONLY + WITH_SESSION:
            raise ValueError(f"{which!r} is not a publisher callback")
        if which in POST_ONLY and session is not None:
            raise ValueError(f"{which} takes no session")
        function = getattr(self.type, which)
        if not function:
            raise LookupError(f"{self.name} has no {which} callback (NULL)")
        result = Result(which)
        arguments = [self.instance, ctypes.addressof(result.handle), _text(post).encode()]
        if which in WITH_SESSION:
            arguments.append(_text(session if session is not None else {}).encode())
        self.current = result
        self.host._begin(result)
        try:
            result.status = function(*arguments)
        finally:
            self.host._end(result)
            self.current = None
        if result.callback_errors:
            raise RuntimeError(f"{self.name}.{which}: a host service failed: "
                               f"{result.callback_errors!r}") from result.callback_errors[0]
        return result

    def cancel(self):
        """What the host does on cancel: cancelled() answers 1 for the call in progress, and the
        plugin's cancel callback (if any) is called. Safe from another thread."""
        current = self.current
        if current is not None:
            current.cancel_requested = True
        if self.instance and self.type.cancel:
            self.type.cancel(self.instance)

    def close(self):
        if self.instance:
            self.type.destroy(self.instance)
            self.instance = None

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()
