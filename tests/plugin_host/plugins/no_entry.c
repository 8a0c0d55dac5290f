/* A perfectly fine shared object that is not a reelflow plugin: no entry symbol. */
#include <reelflow/plugin.h>

RF_EXPORT int phtest_no_entry_answer(void) { return 42; }
