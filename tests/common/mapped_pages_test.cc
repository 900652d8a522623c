#include "common/mapped_pages.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace cairn {
namespace {

// A 64 MiB shared file mapping read end to end shows in the resident set;
// FileMappings::Release drops it again, and the data is still there.
TEST(MappedPagesTest, ReleaseDropsASharedMappingFromTheResidentSet) {
  char tmpl[] = "/tmp/cairn-map-XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  const std::string path = tmpl;
  constexpr size_t kSize = 64 << 20;
  ASSERT_EQ(ftruncate(fd, kSize), 0);
  auto* p = static_cast<unsigned char*>(
      mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(p, MAP_FAILED);
  for (size_t i = 0; i < kSize; i += 4096) p[i] = static_cast<unsigned char>(i >> 12);

  FileMappings map(path);
  uint64_t before = ResidentBytes();
  EXPECT_GT(before, uint64_t{kSize}) << "the touched mapping should be resident";
  map.Release();
  uint64_t after = ResidentBytes();
  EXPECT_LT(after + (kSize / 2), before) << "before " << before << " after " << after;
  // Dirty pages of a shared map stay in the page cache: nothing is lost.
  for (size_t i = 0; i < kSize; i += 4096) {
    ASSERT_EQ(p[i], static_cast<unsigned char>(i >> 12)) << i;
  }
  // A file that is not mapped: nothing to release, and no crash.
  FileMappings none("/nonexistent/file");
  none.Release();
  munmap(p, kSize);
  close(fd);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace cairn
