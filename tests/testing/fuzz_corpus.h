// Replays a checked-in fuzz corpus through a fuzz target's entry point in the
// normal test build, so every seed also runs under the ASan/UBSan preset
// without clang. Header-only: fuzz targets' tests need nothing else from here.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace wattledger::testing {

// Runs every file in `dir` through `entry` (LLVMFuzzerTestOneInput), which
// must return 0; at least `seeds_min` files must be there.
inline void ReplayCorpus(const std::filesystem::path& dir, int (*entry)(const uint8_t*, size_t),
                         size_t seeds_min) {
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  size_t seeds = 0;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    if (!file.is_regular_file()) continue;
    std::ifstream in(file.path(), std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    SCOPED_TRACE(file.path().filename().string());
    EXPECT_EQ(entry(bytes.data(), bytes.size()), 0);
    ++seeds;
  }
  EXPECT_GE(seeds, seeds_min);
}

}  // namespace wattledger::testing
