// Replays the checked-in fuzz corpus (fuzz/corpus/) through the fuzz target's
// entry point in the normal test build, so every seed also runs under the
// ASan/UBSan preset without clang.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

TEST(Dlt645FuzzCorpus, EverySeedRunsCleanly) {
  std::filesystem::path dir = WL_DLT645_CORPUS_DIR;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().filename().string());
    EXPECT_EQ(LLVMFuzzerTestOneInput(bytes.data(), bytes.size()), 0);
    ++seeds;
  }
  EXPECT_GE(seeds, 20u);
}

TEST(Dlt645FuzzCorpus, EmptyAndTinyInputs) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
  const uint8_t one[] = {0x68};
  EXPECT_EQ(LLVMFuzzerTestOneInput(one, sizeof(one)), 0);
}

}  // namespace
