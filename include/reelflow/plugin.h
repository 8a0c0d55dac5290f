/*
 * reelflow plugin ABI — the only header a plugin must include.
 *
 * A plugin is a shared object that exports one C function, `reelflow_plugin_entry`, returning a
 * descriptor (rf_plugin) that names the plugin and the step types it provides. Each step type has a
 * typed option table (the single source for validation, help text, JSON Schema and defaults) and
 * callbacks: create, run, cancel, destroy, and optionally reconcile for irreversible steps.
 *
 * Data crosses the boundary as UTF-8 JSON text plus file paths for media. Strings passed to a
 * plugin are valid only for the duration of the call; strings a plugin hands to the host (outputs,
 * errors, log lines) are copied by the host before the call returns. No allocation ever crosses the
 * boundary, so plugin and host may use different allocators and C++ runtimes.
 *
 * Versioning: RF_ABI_MAJOR changes only when a struct or callback changes incompatibly; the host
 * refuses a plugin whose major differs from its own. RF_ABI_MINOR grows when fields are appended
 * to the end of a struct; the host accepts a plugin built for an older or equal minor and fills the
 * fields that plugin lacks with defaults (every struct begins with `struct_size`, set by the plugin
 * to sizeof() as it was compiled). A plugin built for a newer minor than the host is refused, with
 * both versions named in the message. Arrays of structs (options, step types) are read with the
 * stride of their first element's struct_size, so authors write ordinary static arrays. The
 * host tables (rf_host, rf_trigger_host) go the other way: the host fills them, with its own
 * struct_size and minor, so a plugin that runs on older hosts uses a field only when the table's
 * struct_size covers it and it is not NULL (rf_host.checkpoint since 1.2, rf_host.call since
 * 1.3); the C++ SDK checks this for you.
 *
 * Stable across every major version: rf_plugin's first four fields (struct_size, abi_major,
 * abi_minor, name) keep their offsets, so a host can always name a plugin it refuses. Trailing
 * fields a plugin's struct_size does not cover read as zero/NULL (reconcile, item_type,
 * trigger_types); fields added by a minor newer than the one a plugin declares are ignored. Calling
 * rf_host.fail more than once keeps the last message; a status outside rf_status is an error.
 *
 * Threading: the host calls `reelflow_plugin_entry` before anything else; it may call it more
 * than once (the same file loaded by several registries) and it must return the same descriptor
 * each time. For a
 * given instance (returned by `create`), `run` and `reconcile` are called from one thread at a
 * time; `cancel` may be called from any other thread while `run` is in progress and must return
 * promptly (set a flag; the run should notice it through rf_host.cancelled or its own flag).
 * Different instances may run concurrently on different threads, so global state in a plugin must
 * be thread-safe. Every rf_host function may be called from any thread during the run that owns the
 * rf_run handle; `log` may also be called during create and destroy with a NULL run.
 *
 * Failure: a plugin reports failure by returning RF_STATUS_ERROR after calling rf_host.fail with a
 * message a person can act on (what failed, on which input). The host runs plugins in worker
 * processes, so a crash fails the step rather than the daemon — but a crash is still a bug.
 *
 * Trigger types (ABI 1.1): a plugin may also declare trigger types (rf_trigger_type), event
 * sources that start runs, such as a watched folder. They run inside the daemon process, on its
 * single event loop, so their contract is different from steps': every trigger callback is called
 * from the daemon's loop thread, one call at a time across all instances, and must return
 * quickly without blocking. A trigger exposes what it waits for instead of waiting: a pollable
 * file descriptor (`fd`, the host calls `on_readable` when it is readable) and/or a timer
 * (`next_timeout`, the host calls `on_timer` when it expires); long work is cut into slices by
 * asking for a timeout of 0 between them. It starts runs through rf_trigger_host.emit. Because a
 * trigger shares the daemon's process, a crash in one takes the daemon down: only trusted, light
 * code belongs in a trigger type. See the rf_trigger_type section below.
 */
#ifndef REELFLOW_PLUGIN_H
#define REELFLOW_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RF_ABI_MAJOR 1
#define RF_ABI_MINOR 3

/* The symbol every plugin exports. */
#define RF_PLUGIN_ENTRY_SYMBOL "reelflow_plugin_entry"

#if defined(__GNUC__)
#define RF_EXPORT __attribute__((visibility("default")))
#else
#define RF_EXPORT
#endif

/* ---------------------------------------------------------------------------------------------
 * Option tables
 * ------------------------------------------------------------------------------------------- */

typedef enum rf_option_type {
  RF_OPT_STRING = 1,   /* JSON string */
  RF_OPT_INT = 2,      /* JSON integer; min/max apply */
  RF_OPT_FLOAT = 3,    /* JSON number; min/max apply */
  RF_OPT_BOOL = 4,     /* JSON true/false */
  RF_OPT_DURATION = 5, /* string like "30s", "1m30s", "2h", "500ms" or a number of seconds;
                          the plugin receives a number of seconds; min/max in seconds */
  RF_OPT_PATH = 6,     /* JSON string naming a file or directory */
  RF_OPT_ENUM = 7,     /* JSON string, one of enum_values */
  RF_OPT_LIST = 8,     /* JSON array; item_type says what each element is (0 = any) */
  RF_OPT_OBJECT = 9    /* JSON object, free-form */
} rf_option_type;

typedef struct rf_option {
  uint32_t struct_size;          /* sizeof(rf_option) as compiled by the plugin */
  const char* name;              /* [a-z][a-z0-9_]*, unique within the step type */
  rf_option_type type;
  const char* default_json;      /* JSON text of the default value, or NULL for none */
  int required;                  /* non-zero: the workflow must set it (default_json ignored) */
  int has_min;                   /* min applies to INT, FLOAT, DURATION; to LIST length */
  double min;
  int has_max;
  double max;
  const char* const* enum_values; /* NULL-terminated list, for RF_OPT_ENUM */
  const char* help;              /* one or two sentences shown in `reelflow plugins` and schema */
  rf_option_type item_type;      /* for RF_OPT_LIST: the type of each element, 0 for any */
} rf_option;

/* ---------------------------------------------------------------------------------------------
 * Host services
 * ------------------------------------------------------------------------------------------- */

typedef enum rf_log_level {
  RF_LOG_DEBUG = 0,
  RF_LOG_INFO = 1,
  RF_LOG_WARN = 2,
  RF_LOG_ERROR = 3
} rf_log_level;

/* Opaque handle for one execution of one step. Valid only during the run/reconcile call. */
typedef struct rf_run rf_run;

typedef struct rf_host {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;

  /* Logging. `run` may be NULL outside a run. Never log secrets. */
  void (*log)(rf_run* run, rf_log_level level, const char* message);

  /* Progress of the current run: fraction in [0,1], or negative when unknown; message may be
     NULL. Cheap to call; the host rate-limits what it shows. */
  void (*progress)(rf_run* run, double fraction, const char* message);

  /* Non-zero once the run should stop (cancel, timeout, shutdown). Poll it in long loops. */
  int (*cancelled)(rf_run* run);

  /* The run's artifact directory: an existing, writable directory private to this step
     execution. Files written here outlive the call; return their paths in the output. */
  const char* (*artifact_dir)(rf_run* run);

  /* Secret lookup by name. Copies the value (NUL-terminated) into buf if it fits and returns
     its length without the NUL; returns -1 if no such secret exists. Call with cap 0 to learn
     the length. */
  long (*secret)(rf_run* run, const char* name, char* buf, size_t cap);

  /* Per-plugin persistent key-value state (survives restarts). Get works like secret(); set
     stores a copy (value NULL deletes) and returns 0 on success, -1 on failure. */
  long (*state_get)(rf_run* run, const char* key, char* buf, size_t cap);
  int (*state_set)(rf_run* run, const char* key, const char* value);

  /* The step's result. set_output takes a JSON object (text); calling it again replaces the
     previous one. fail records the error message for RF_STATUS_ERROR. Both copy. */
  int (*set_output)(rf_run* run, const char* json_object);
  void (*fail)(rf_run* run, const char* message);

  /* ABI 1.2. Durably records json_object (an object) as the progress of the current execution
     of an irreversible step or publisher call: a publisher's session (upload URL, bytes the
     platform acknowledged, ...). Returns 0 once it is stored so that it survives kill -9, -1 if
     it could not be stored (the call should then stop: what it does next could not be resumed).
     After a crash the host hands the last checkpoint back: to a publisher as its session_json, to
     an irreversible step's reconcile inside intent_json as "checkpoint". NULL on a 1.1 host. */
  int (*checkpoint)(rf_run* run, const char* json_object);

  /* ABI 1.3. Asks the daemon for one of its services (docs/plugins.md lists them, e.g.
     "links.create"). request_json: a JSON object. Copies the answer (a JSON object,
     NUL-terminated) into buf if it fits and returns its length without the NUL; returns -1 when
     the service failed or does not exist (buf then holds {"error": "..."} if it fits). When the
     answer did not fit, call again with a larger buffer: services answer the same request the
     same way (they are idempotent: links.create with the same key returns the same link). NULL
     on a host older than 1.3. */
  long (*call)(rf_run* run, const char* service, const char* request_json, char* buf, size_t cap);
} rf_host;

/* ---------------------------------------------------------------------------------------------
 * Step types
 * ------------------------------------------------------------------------------------------- */

typedef enum rf_status {
  RF_STATUS_OK = 0,
  RF_STATUS_ERROR = 1,     /* failed; message given via rf_host.fail */
  RF_STATUS_CANCELLED = 2, /* stopped because rf_host.cancelled said so */
  RF_STATUS_RETRY = 3,     /* failed in a way worth retrying (network, 5xx, 429); a publisher
                              may say when in its output: {"retry_after": seconds} */
  /* ABI 1.2, publishers only: */
  RF_STATUS_RECONNECT = 4, /* the account's authorization is gone (refresh token revoked or
                              expired): the host holds the account's posts until it is
                              reconnected and tells the operator what to do */
  RF_STATUS_LATER = 5      /* a platform quota is used up (uploads per day, pending shares): the
                              host reschedules the post, to output "not_before" (ISO 8601) if
                              given, else a day later */
} rf_status;

/* Step type flags. */
#define RF_STEP_RERUN_SAFE 0x1u   /* running it again after a crash mid-step has no extra effect */
#define RF_STEP_IRREVERSIBLE 0x2u /* has an outside effect (publish); needs reconcile */
#define RF_STEP_IN_PROCESS 0x4u   /* light and trusted: may run inside the daemon process */

typedef struct rf_step_type {
  uint32_t struct_size;  /* sizeof(rf_step_type) as compiled by the plugin */
  const char* name;      /* "<plugin>.<step>", e.g. "hello.stamp"; globally unique */
  const char* summary;   /* one line for listings */
  uint32_t flags;        /* RF_STEP_* */
  const rf_option* options; /* array of option_count entries (stride: options[0].struct_size) */
  size_t option_count;

  /* Make an instance. config_json is the plugin's daemon-level configuration (an object, "{}"
     if none). Return NULL on failure after logging why. An instance may serve many runs. */
  void* (*create)(const rf_host* host, const char* config_json);

  /* Execute the step. options_json: the step's `with` options, expressions resolved, defaults
     filled, durations in seconds. context_json: {"run_id", "step_id", "workflow", "attempt",
     "trigger": {...}, "item" and "item_index" (inside for_each), "idempotency_key" (for
     RF_STEP_IRREVERSIBLE steps: the same for every attempt of this execution, so a platform that
     accepts one can drop a duplicate)}. Report outputs via host->set_output. */
  rf_status (*run)(void* instance, rf_run* run, const char* options_json, const char* context_json);

  /* Ask a running `run` to stop soon. May be NULL (the host then relies on cancelled()). */
  void (*cancel)(void* instance);

  void (*destroy)(void* instance);

  /* For RF_STEP_IRREVERSIBLE step types: after a crash, an execution that recorded an intent but
     no result is reconciled instead of re-run. intent_json holds the idempotency key and what the
     step recorded. Return OK with outputs if the effect happened, RF_STATUS_RETRY if it certainly
     did not (the host may then run it again), ERROR if it cannot tell. May be NULL otherwise. */
  rf_status (*reconcile)(void* instance, rf_run* run, const char* options_json,
                         const char* context_json, const char* intent_json);
} rf_step_type;

/* ---------------------------------------------------------------------------------------------
 * Trigger types (ABI 1.1)
 * ------------------------------------------------------------------------------------------- */

/* What the host offers one trigger instance. The host passes a distinct table to every `start`;
   it stays valid until that instance's `stop` returns. Call its functions with the table itself
   as first argument, only from inside a callback of the same instance (start, on_readable,
   on_timer), never from another thread and never after stop. */
typedef struct rf_trigger_host rf_trigger_host;
struct rf_trigger_host {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;

  /* A log line attributed to this trigger and its workflow. Never log secrets. */
  void (*log)(const rf_trigger_host* host, rf_log_level level, const char* message);

  /* Starts a run of the workflow. trigger_json: a JSON object, what the run sees as `trigger` in
     expressions (e.g. {"event": "file", "file": "/srv/inbox/a.mp4", ...}). key: the event's
     idempotency key, non-empty UTF-8 text of at most 4096 bytes that is the same whenever the
     same event is seen again (e.g. after a restart): the host's store starts at most one run per
     workflow and key, across restarts. Prefix keys with what they are about ("file:..."); the
     prefixes "manual:" and "schedule:" belong to the built-in triggers. Returns 0 when the host
     took the event (a key seen before then starts no second run), -1 when it refused it (not a
     JSON object, a bad key, called outside a callback); a refusal is logged by the host. Both
     strings are copied before the call returns. */
  int (*emit)(const rf_trigger_host* host, const char* trigger_json, const char* key);
};

typedef struct rf_trigger_type {
  uint32_t struct_size; /* sizeof(rf_trigger_type) as compiled by the plugin */
  /* "<plugin>.<trigger>", e.g. "watch.folder"; unique among trigger types. A workflow names it
     under `on:` by this name, or by the plugin's name alone when the plugin has exactly one
     trigger type (`on: {watch: ...}` for watch.folder). */
  const char* name;
  const char* summary;      /* one line for listings */
  uint32_t flags;           /* none defined yet: set 0 */
  const rf_option* options; /* the keys of the workflow's `on.<trigger>` mapping; array of
                               option_count entries (stride: options[0].struct_size) */
  size_t option_count;

  /* Starts one instance for one workflow. config_json: the plugin's daemon-level configuration
     (an object, "{}" if none). options_json: the trigger's options from the workflow, validated,
     defaults filled in, durations in seconds, RF_OPT_PATH values absolute (resolved against the
     daemon's working directory). May emit (e.g. for what it finds at start-up). Returns the
     instance, or NULL after logging why through host->log. Required. */
  void* (*start)(const rf_trigger_host* host, const char* config_json, const char* options_json);

  /* The file descriptor the instance waits on (non-blocking, e.g. an inotify or socket fd), or
     -1 for none. Asked once, right after start; it must stay open and the same until stop, and
     the plugin closes it in stop (the host only watches it). May be NULL: no descriptor. */
  int (*fd)(void* instance);

  /* Called when fd is readable (level-triggered: again while it stays readable). Read what is
     there without blocking (EAGAIN is normal). Required when fd is set. */
  void (*on_readable)(void* instance);

  /* Milliseconds until the host should call on_timer: 0 for "as soon as the loop is free" (to
     continue work in slices), negative for no timer. Asked after start and after every
     on_readable and on_timer call, so a changed answer takes effect at once. May be NULL: no
     timer. */
  int64_t (*next_timeout)(void* instance);

  /* Called once the timeout asked for has passed (possibly later, never earlier than the whole
     milliseconds asked for). Required when next_timeout is set. */
  void (*on_timer)(void* instance);

  /* Ends the instance: close the fd, free everything. No host function may be called from here
     on. Called exactly once per started instance (workflow reloaded or removed, shutdown).
     Required. */
  void (*stop)(void* instance);
} rf_trigger_type;

/* ---------------------------------------------------------------------------------------------
 * Publisher types (ABI 1.2)
 *
 * A publisher puts a video on one platform (YouTube, TikTok, a folder, a webhook). The host, not
 * the plugin, owns the post's durable state machine, so that a post is never made twice, even
 * under kill -9 at any point, and an interrupted upload resumes instead of starting over:
 *
 *   prepare -> [intent recorded] start -> [session recorded] upload (-> checkpoints) ->
 *   [stage "finalizing" recorded] finalize -> [session recorded] poll ... -> [post id recorded]
 *
 * Every callback receives post_json (below) and most receive the session: the plugin's own JSON
 * object describing the platform-side state of this post (upload URL, publish id, acknowledged
 * bytes, post id). Each callback returns the new session through rf_host.set_output (the host
 * merges it into the session it holds, a null value removing a key, and records it before the
 * next call) and may record it mid-call through rf_host.checkpoint (upload,
 * after each chunk the platform acknowledged). What each callback must do:
 *
 *   prepare   Check the post against the platform's rules (caption and title length, hashtag
 *             syntax, duration, file size, cover, required fields) with no outside effect
 *             (read-only platform calls such as TikTok's creator_info are fine). Fail with a
 *             message naming the field. Called when the post is scheduled and again before start.
 *   start     The irreversible part begins: create the upload session or container. Called only
 *             after the host recorded the intent. Output: the session.
 *   upload    Send the bytes the platform has not acknowledged yet: ask the platform where it
 *             stands (YouTube's "bytes * /total" probe) or trust the session's acknowledged
 *             offset, then send the rest in the platform's chunk sizes, checkpointing after each
 *             acknowledged chunk. RF_STATUS_RETRY after a network error or 5xx: the host calls
 *             upload again later with the last checkpoint. Output: the session.
 *   finalize  Commit the post (complete the upload, publish the container, create the video).
 *             A no-op returning the session for platforms where the upload's end commits. The
 *             host recorded that finalize was about to be called, so a crash during it leads to
 *             reconcile, never to a second call; so does RF_STATUS_RETRY, unless the output says
 *             {"sent": false} (the request certainly never reached the platform: connection
 *             refused), which lets the host call finalize again. It may checkpoint what it learns
 *             on the way (an id from a first call of two). Output: the session, with "post_id" if
 *             known.
 *   poll      Ask whether the platform has processed the post. Output: the session plus
 *             "state": "processing" | "published" | "failed", and when published "post_id" and
 *             "url", when failed "error". The host calls it again (after "retry_after" seconds
 *             if given, else with a growing delay) until published or failed.
 *   reconcile After a crash in start or finalize, when the host cannot know whether the call took
 *             effect: find out from the platform (the session, the account's recent posts, the
 *             idempotency key where the platform keeps one). Output: the session plus "found":
 *             "nothing" (certainly no session/post: the host calls start or finalize again),
 *             "session" (continue with upload) or "post" (continue with poll). RF_STATUS_RETRY
 *             when asking failed for a transient reason (the host asks again a few times);
 *             RF_STATUS_ERROR when it cannot tell: the post is marked "unknown" for a person to
 *             check, and is never sent again on its own.
 *   metrics   Fetch the published post's counters. Output: {"views", "likes", "comments",
 *             "shares", ...platform extras}, integers.
 *   refresh   Renew the account's access token. post_json is replaced by account_json (below).
 *             Output: {"credentials": {... the new credential object, "expires_at": ISO 8601},
 *             "note"?: text shown by `reelflow accounts`, e.g. "authorize again before ..."}.
 *             The host stores it atomically before any other call uses it (rotating refresh
 *             tokens are never lost); a refresh made of two platform calls checkpoints
 *             {"credentials": {...}} after the first, and the host stores those at once.
 *             RF_STATUS_RECONNECT when the platform refuses the refresh token; RF_STATUS_RETRY
 *             when the token endpoint failed transiently. NULL for platforms without expiring
 *             tokens. The host calls it when a post needs it and, in the daemon, ahead of
 *             expiry (a quarter of the token's lifetime, at least an hour).
 *
 * Statuses: OK; ERROR (a bad request: not retried, the message names the field); RETRY
 * (transient; {"retry_after": s} in the output when the platform said so); RECONNECT; LATER;
 * CANCELLED. Errors and log lines must never contain tokens or secrets.
 *
 * post_json: {"id": local post id, "idempotency_key": stable for this post across attempts and
 * restarts, "platform", "account": {"name", "options": {...the account's configuration},
 * "credentials": {... access_token, ...}}, "video": {"path", "size_bytes", "duration_seconds"?,
 * "width"?, "height"?}, "cover": path or null, "title", "caption", "tags": [...], "link": URL or
 * null, "publish_at": ISO 8601 UTC (when the host publishes it, the same in every call for the
 * post, also after a restart; for platforms that schedule natively), "options": {...the publisher's own options, validated, defaults filled}}.
 * account_json (refresh): {"name", "options", "credentials"}.
 *
 * Workflows use a publisher as a step type of the same name (e.g. `uses: youtube.publish`): the
 * host adds the common options (account, video, cover, title, caption, tags, link, publish_at,
 * time_zone, slot, jitter, max_delay) to the publisher's own, validates and schedules the post,
 * and publishes it when due. Threading: as for steps; all callbacks of one instance are called
 * from one thread at a time, `cancel` from any thread.
 * ------------------------------------------------------------------------------------------- */

typedef struct rf_publisher_type {
  uint32_t struct_size; /* sizeof(rf_publisher_type) as compiled by the plugin */
  const char* name;     /* the step type workflows use: "<plugin>.<step>", e.g. "youtube.publish" */
  const char* platform; /* [a-z][a-z0-9_-]*: what accounts are configured for, e.g. "youtube" */
  const char* summary;  /* one line for listings */
  uint32_t flags;       /* none defined yet: set 0 */
  const rf_option* options; /* the publisher's own post options (privacy, category, ...); names
                               must differ from the common ones the host adds */
  size_t option_count;
  const rf_option* account_options; /* the keys of an account's configuration (api_base, ...) */
  size_t account_option_count;

  void* (*create)(const rf_host* host, const char* config_json); /* as for steps; required */
  void (*destroy)(void* instance);                                /* required */
  void (*cancel)(void* instance);                                 /* may be NULL */

  rf_status (*prepare)(void* instance, rf_run* run, const char* post_json);   /* required */
  rf_status (*start)(void* instance, rf_run* run, const char* post_json);     /* required */
  rf_status (*upload)(void* instance, rf_run* run, const char* post_json,
                      const char* session_json);                              /* required */
  rf_status (*finalize)(void* instance, rf_run* run, const char* post_json,
                        const char* session_json);                            /* required */
  rf_status (*poll)(void* instance, rf_run* run, const char* post_json,
                    const char* session_json);                                /* required */
  rf_status (*reconcile)(void* instance, rf_run* run, const char* post_json,
                         const char* session_json);                           /* required */
  rf_status (*metrics)(void* instance, rf_run* run, const char* post_json,
                       const char* session_json); /* NULL: the platform reports nothing */
  rf_status (*refresh)(void* instance, rf_run* run, const char* account_json); /* may be NULL */
  /* When the platform lets an account post, as a JSON object, or NULL for no rules (a plugin
     whose struct_size ends before this field has none):
       {"quotas":  [{"name": "uploads", "limit": 6, "per": "day" | "<duration>",
                     "time_zone": "America/Los_Angeles", "note": "where the figure comes from"}],
        "windows": ["Mon-Fri 12:00-15:00", ...],  "windows_note": "..."}
     The host counts each account's posts and reschedules one that would exceed a quota (the
     platform never sees it), and `publish_at: best` posts in the windows until the optimizer has
     learned better ones. An account's "limits" can change both. */
  const char* scheduling_json;
} rf_publisher_type;

/* ---------------------------------------------------------------------------------------------
 * The plugin descriptor
 * ------------------------------------------------------------------------------------------- */

typedef struct rf_plugin {
  uint32_t struct_size; /* sizeof(rf_plugin) as compiled by the plugin */
  uint16_t abi_major;   /* RF_ABI_MAJOR the plugin was built against */
  uint16_t abi_minor;   /* RF_ABI_MINOR the plugin was built against */
  const char* name;     /* [a-z][a-z0-9_]*: the prefix of its step and trigger type names */
  const char* version;  /* the plugin's own version, e.g. "1.2.0" */
  const char* license;  /* SPDX identifier, e.g. "Apache-2.0" */
  const char* summary;  /* one line */
  const rf_step_type* step_types; /* array (stride: step_types[0].struct_size) */
  size_t step_type_count;
  /* ABI 1.1. A plugin built for 1.0 lacks these; the host reads them as NULL/0. */
  const rf_trigger_type* trigger_types; /* array (stride: trigger_types[0].struct_size) */
  size_t trigger_type_count;
  /* ABI 1.2. A plugin built for 1.0 or 1.1 lacks these; the host reads them as NULL/0. */
  const rf_publisher_type* publisher_types; /* array (stride: publisher_types[0].struct_size) */
  size_t publisher_type_count;
} rf_plugin;

/* The entry point. host_major/host_minor are the host's ABI version; a plugin may use them to
   decide which optional fields it can rely on. Returns a descriptor with static lifetime, or NULL
   if the plugin cannot work with this host. */
typedef const rf_plugin* (*rf_plugin_entry_fn)(uint16_t host_major, uint16_t host_minor);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* REELFLOW_PLUGIN_H */
