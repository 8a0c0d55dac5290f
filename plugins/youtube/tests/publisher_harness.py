"""Calls a publisher type's callbacks (plugin.h, ABI 1.2) directly from Python through ctypes,
with a minimal host, for what a one-off `reelflow run` never reaches: reconcile after a crash
(the driver calls it only when a post resumes from "starting" or "finalizing") and metrics (the
scheduler of posts calls it, not a run).

    harness = PublisherHarness("/path/youtube.so", "youtube.publish")
    call = harness.call("start", post)          # post: the post_json dict
    call.status, call.output, call.error, call.logs, call.checkpoints

The host side records what the plugin hands over (output, fail message, log lines, checkpoints)
and answers cancelled() with False. Secrets, state and the artifact directory are not offered
(NULL), as youtube.publish uses none of them.
"""
import ctypes
import json

LOG = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
PROGRESS = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_double, ctypes.c_char_p)
CANCELLED = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
ARTIFACT_DIR = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
BUFFER = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p,
                          ctypes.c_size_t)
STATE_SET = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p)
TEXT_IN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)
FAIL = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)


class RfHost(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("abi_major", ctypes.c_uint16),
                ("abi_minor", ctypes.c_uint16), ("log", LOG), ("progress", PROGRESS),
                ("cancelled", CANCELLED), ("artifact_dir", ARTIFACT_DIR), ("secret", BUFFER),
                ("state_get", BUFFER), ("state_set", STATE_SET), ("set_output", TEXT_IN),
                ("fail", FAIL), ("checkpoint", TEXT_IN)]


CREATE = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.POINTER(RfHost), ctypes.c_char_p)
DESTROY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
POST_CALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)
SESSION_CALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p,
                                ctypes.c_char_p)


class RfPublisherType(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("name", ctypes.c_char_p),
                ("platform", ctypes.c_char_p), ("summary", ctypes.c_char_p),
                ("flags", ctypes.c_uint32), ("options", ctypes.c_void_p),
                ("option_count", ctypes.c_size_t), ("account_options", ctypes.c_void_p),
                ("account_option_count", ctypes.c_size_t), ("create", CREATE),
                ("destroy", DESTROY), ("cancel", DESTROY), ("prepare", POST_CALL),
                ("start", POST_CALL), ("upload", SESSION_CALL), ("finalize", SESSION_CALL),
                ("poll", SESSION_CALL), ("reconcile", SESSION_CALL), ("metrics", SESSION_CALL),
                ("refresh", POST_CALL)]


class RfPlugin(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("abi_major", ctypes.c_uint16),
                ("abi_minor", ctypes.c_uint16), ("name", ctypes.c_char_p),
                ("version", ctypes.c_char_p), ("license", ctypes.c_char_p),
                ("summary", ctypes.c_char_p), ("step_types", ctypes.c_void_p),
                ("step_type_count", ctypes.c_size_t), ("trigger_types", ctypes.c_void_p),
                ("trigger_type_count", ctypes.c_size_t),
                ("publisher_types", ctypes.POINTER(RfPublisherType)),
                ("publisher_type_count", ctypes.c_size_t)]


STATUS_NAMES = {0: "OK", 1: "ERROR", 2: "CANCELLED", 3: "RETRY", 4: "RECONNECT", 5: "LATER"}


class Call:
    def __init__(self):
        self.status = None
        self.output = None
        self.error = ""
        self.logs = []         # (level, message)
        self.checkpoints = []  # dicts

    @property
    def status_name(self):
        return STATUS_NAMES.get(self.status, str(self.status))

    def __repr__(self):
        return (f"Call(status={self.status_name}, output={self.output}, error={self.error!r}, "
                f"logs={self.logs})")


class PublisherHarness:
    def __init__(self, plugin_path, type_name):
        self.library = ctypes.CDLL(plugin_path)
        entry = self.library.reelflow_plugin_entry
        entry.restype = ctypes.POINTER(RfPlugin)
        entry.argtypes = [ctypes.c_uint16, ctypes.c_uint16]
        plugin = entry(1, 2).contents
        self.type = None
        for i in range(plugin.publisher_type_count):
            if plugin.publisher_types[i].name.decode() == type_name:
                self.type = plugin.publisher_types[i]
        if self.type is None:
            raise LookupError(f"{plugin_path} has no publisher type {type_name}")
        self.current = None
        # The callbacks must outlive every call: keep them on self.
        self._callbacks = [LOG(self._log), PROGRESS(lambda run, fraction, message: None),
                           CANCELLED(lambda run: 0), TEXT_IN(self._set_output), FAIL(self._fail),
                           TEXT_IN(self._checkpoint)]
        self.host = RfHost(ctypes.sizeof(RfHost), 1, 2, self._callbacks[0], self._callbacks[1],
                           self._callbacks[2], ARTIFACT_DIR(), BUFFER(), BUFFER(), STATE_SET(),
                           self._callbacks[3], self._callbacks[4], self._callbacks[5])
        self.instance = self.type.create(ctypes.byref(self.host), b"{}")
        if not self.instance:
            raise RuntimeError("create returned NULL")

    def close(self):
        if self.instance:
            self.type.destroy(self.instance)
            self.instance = None

    def _log(self, run, level, message):
        if self.current is not None:
            self.current.logs.append((level, message.decode()))

    def _set_output(self, run, text):
        self.current.output = json.loads(text.decode())
        return 0

    def _fail(self, run, message):
        self.current.error = message.decode()

    def _checkpoint(self, run, text):
        self.current.checkpoints.append(json.loads(text.decode()))
        return 0

    def call(self, which, post, session=None):
        """Calls `which` (prepare, start, upload, finalize, poll, reconcile, metrics)."""
        self.current = Call()
        post_text = json.dumps(post).encode()
        run_handle = ctypes.c_void_p(1)
        function = getattr(self.type, which)
        if which in ("prepare", "start"):
            status = function(self.instance, run_handle, post_text)
        else:
            status = function(self.instance, run_handle, post_text,
                              json.dumps(session or {}).encode())
        call, self.current = self.current, None
        call.status = status
        return call
