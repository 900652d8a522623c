#include "backend/read_only_store.h"

// ReadOnlyStore is header-only; this file keeps one source per header.
