// jemalloc's compiled-in options, read once at start-up (linked into the
// tools only; the libraries do not care which malloc they run on).
//
// Transparent huge pages for the heap: checking a 100,000-statement workflow
// allocates ~190 MB of small AST nodes, and with 4 KiB pages a quarter of the
// run went to page faults; with 2 MiB pages the check is 2.5x faster
// (bench/README.md). The MALLOC_CONF environment variable still overrides.
extern "C" {
const char* malloc_conf = "thp:always,metadata_thp:auto";
}
