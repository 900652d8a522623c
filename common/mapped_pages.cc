#include "common/mapped_pages.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace cairn {

namespace {

void AdviseMappings(const std::string& path, int advice) {
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
    madvise(reinterpret_cast<void*>(static_cast<uintptr_t>(start)), end - start, advice);
  }
  fclose(f);
}

}  // namespace

void ReleaseFileMappings(const std::string& path) { AdviseMappings(path, MADV_DONTNEED); }

void AvoidHugePageMappings(const std::string& path) {
  AdviseMappings(path, MADV_NOHUGEPAGE);
  AdviseMappings(path, MADV_RANDOM);
}

}  // namespace cairn
