// Replays the checked-in fuzz corpus (fuzz/corpus/) through the fuzz target's
// entry point in the normal test build, so every seed also runs under the
// ASan/UBSan preset without clang.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>

#include "tests/testing/fuzz_corpus.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

TEST(Dlt645FuzzCorpus, EverySeedRunsCleanly) {
  wattledger::testing::ReplayCorpus(WL_DLT645_CORPUS_DIR, LLVMFuzzerTestOneInput, 20u);
}

TEST(Dlt645FuzzCorpus, EmptyAndTinyInputs) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
  const uint8_t one[] = {0x68};
  EXPECT_EQ(LLVMFuzzerTestOneInput(one, sizeof(one)), 0);
}

}  // namespace
