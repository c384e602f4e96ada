// The one test binary's main (Catch2 v2). Every *_test.cc links into it.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
