#include "common/mapped_pages.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace cairn {

namespace {

// Calls fn(start, length) for every shared mapping of path.
template <class Fn>
void ForEachSharedMapping(const std::string& path, Fn&& fn) {
  std::error_code ec;
  std::string want = std::filesystem::weakly_canonical(path, ec).string();
  if (ec) want = path;
  FILE* f = fopen("/proc/self/maps", "re");
  if (!f) return;
  char line[4096 + 256];
  while (fgets(line, sizeof(line), f)) {
    unsigned long start = 0, end = 0;
    char perms[8] = {};
    int name_at = 0;
    // start-end perms offset dev inode   path
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &name_at) < 3 ||
        name_at <= 0) {
      continue;
    }
    std::string name(line + name_at);
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    if (name != want || perms[3] != 's') continue;
    fn(static_cast<uintptr_t>(start), static_cast<size_t>(end - start));
  }
  fclose(f);
}

}  // namespace

uint64_t ResidentBytes() {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  unsigned long size = 0, resident = 0;
  if (sscanf(buf, "%lu %lu", &size, &resident) != 2) return 0;
  return uint64_t{resident} * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

FileMappings::FileMappings(const std::string& path) {
  ForEachSharedMapping(path, [&](uintptr_t start, size_t len) { ranges_.emplace_back(start, len); });
}

void FileMappings::Release() const {
  for (const auto& [start, len] : ranges_) {
    madvise(reinterpret_cast<void*>(start), len, MADV_DONTNEED);
  }
}

void FileMappings::AdviseScatteredLookups() const {
  for (const auto& [start, len] : ranges_) {
    madvise(reinterpret_cast<void*>(start), len, MADV_NOHUGEPAGE);
    madvise(reinterpret_cast<void*>(start), len, MADV_RANDOM);
  }
}

}  // namespace cairn
