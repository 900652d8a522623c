// WalkReadAhead::Upcoming against its contract: the walk order after an
// opened file, over a fake tree (no ContentReader, no repository).
#include "fs/walk_read_ahead.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace cairn {
namespace {

Id TreeId(uint8_t n) {
  Id id;
  id.bytes.fill(n);
  return id;
}

class FakeDirs final : public WalkReadAhead::Dirs {
 public:
  // A directory: tree id, its inode, and where it sits (none: a root).
  void AddDir(uint8_t tree, uint64_t ino, std::optional<Place> place) {
    dirs_[TreeId(tree)];
    if (place) places_[ino] = *place;
  }
  void AddFile(uint8_t tree, std::string name) {
    Node n;
    n.type = NodeType::kFile;
    n.name = std::move(name);
    dirs_[TreeId(tree)].push_back(n);
  }
  void AddSubdir(uint8_t tree, std::string name, uint8_t subtree) {
    Node n;
    n.type = NodeType::kDir;
    n.name = std::move(name);
    n.subtree = TreeId(subtree);
    dirs_[TreeId(tree)].push_back(n);
  }
  void Forget(uint8_t tree) { dirs_.erase(TreeId(tree)); }  // not decoded
  Status fail;  // returned by Scan when set

  Status Scan(const Id& tree, uint64_t from,
              const std::function<bool(uint64_t, Node&&)>& fn) override {
    if (!fail.ok()) return fail;
    auto it = dirs_.find(tree);
    if (it == dirs_.end()) return Status::OK();
    for (uint64_t i = from; i < it->second.size(); ++i) {
      Node copy = it->second[i];
      if (!fn(i, std::move(copy))) break;
    }
    return Status::OK();
  }
  std::optional<Place> PlaceOf(uint64_t dir_ino) override {
    auto it = places_.find(dir_ino);
    if (it == places_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<Id, std::vector<Node>> dirs_;
  std::map<uint64_t, Place> places_;
};

constexpr uint64_t kAfter = WalkReadAhead::kAfterDir;

// root (tree 1, ino 100): a, d1/, z
//   d1 (tree 2, ino 101): f1, f2, sub/, f3
//     sub (tree 3, ino 102): g1, g2
class WalkReadAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dirs_.AddDir(1, 100, std::nullopt);
    dirs_.AddFile(1, "a");
    dirs_.AddSubdir(1, "d1", 2);
    dirs_.AddFile(1, "z");
    dirs_.AddDir(2, 101, WalkReadAhead::Dirs::Place{TreeId(1), 1, 100});
    dirs_.AddFile(2, "f1");
    dirs_.AddFile(2, "f2");
    dirs_.AddSubdir(2, "sub", 3);
    dirs_.AddFile(2, "f3");
    dirs_.AddDir(3, 102, WalkReadAhead::Dirs::Place{TreeId(2), 2, 101});
    dirs_.AddFile(3, "g1");
    dirs_.AddFile(3, "g2");
  }
  // "name@pos" for own entries, "name~pos" for foreign ones (pos "after"
  // for kAfterDir), at most max of them.
  std::vector<std::string> Walk(uint8_t tree, uint64_t ino, uint64_t from, size_t max = 100,
                                Status* status = nullptr) {
    std::vector<std::string> out;
    Status s = WalkReadAhead::Upcoming(dirs_, TreeId(tree), ino, from, [&](uint64_t pos, const Node& n, bool own) {
      out.push_back(n.name + (own ? "@" : "~") + (pos == kAfter ? "after" : std::to_string(pos)));
      return out.size() < max;
    });
    if (status) *status = s;
    return out;
  }
  FakeDirs dirs_;
};

TEST_F(WalkReadAheadTest, OwnFilesThenSubdirectoryEntriesWhereTheyCome) {
  EXPECT_EQ(Walk(2, 101, 0), (std::vector<std::string>{"f1@0", "f2@1", "g1~2", "g2~2", "f3@3",
                                                        "z~after"}));
  EXPECT_EQ(Walk(2, 101, 3), (std::vector<std::string>{"f3@3", "z~after"}));
}

TEST_F(WalkReadAheadTest, PastTheEndClimbsToWhatFollowsInTheParents) {
  // From sub's second file: the rest of sub, then what follows sub in d1,
  // then what follows d1 in the root; nothing above a snapshot root.
  EXPECT_EQ(Walk(3, 102, 1), (std::vector<std::string>{"g2@1", "f3~after", "z~after"}));
  EXPECT_EQ(Walk(3, 102, 2), (std::vector<std::string>{"f3~after", "z~after"}));
  EXPECT_TRUE(Walk(3, 102, kAfter + 1).empty()) << "past kAfterDir: nothing further";
}

TEST_F(WalkReadAheadTest, FollowingDirectoriesContributeTheirEntries) {
  // A directory after the one read: its entries (foreign, after).
  dirs_.AddSubdir(2, "w", 4);
  dirs_.AddDir(4, 103, WalkReadAhead::Dirs::Place{TreeId(2), 4, 101});
  dirs_.AddFile(4, "w1");
  EXPECT_EQ(Walk(3, 102, 2), (std::vector<std::string>{"f3~after", "w1~after", "z~after"}));
}

TEST_F(WalkReadAheadTest, StopsWhenTheReaderHasEnough) {
  EXPECT_EQ(Walk(2, 101, 0, 3), (std::vector<std::string>{"f1@0", "f2@1", "g1~2"}));
  EXPECT_EQ(Walk(3, 102, 1, 2), (std::vector<std::string>{"g2@1", "f3~after"}));
}

TEST_F(WalkReadAheadTest, DirectoriesNotDecodedAreSkippedNotWaitedFor) {
  dirs_.Forget(3);
  EXPECT_EQ(Walk(2, 101, 0), (std::vector<std::string>{"f1@0", "f2@1", "f3@3", "z~after"}));
}

TEST_F(WalkReadAheadTest, ClimbsAtMostLevelsUp) {
  // A chain 5 deep below the root, each level with a file after its
  // subdirectory: from the bottom, only kLevelsUp parents are visited.
  FakeDirs chain;
  chain.AddDir(10, 200, std::nullopt);
  for (uint8_t level = 0; level < 5; ++level) {
    const uint8_t tree = static_cast<uint8_t>(10 + level);
    chain.AddSubdir(tree, "d" + std::to_string(level + 1), static_cast<uint8_t>(tree + 1));
    chain.AddFile(tree, "after" + std::to_string(level));
    chain.AddDir(static_cast<uint8_t>(tree + 1), 201 + level,
                 WalkReadAhead::Dirs::Place{TreeId(tree), 0, uint64_t{200} + level});
  }
  chain.AddFile(15, "bottom");
  std::vector<std::string> out;
  ASSERT_TRUE(WalkReadAhead::Upcoming(chain, TreeId(15), 205, 0, [&](uint64_t, const Node& n, bool) {
                  out.push_back(n.name);
                  return true;
                }).ok());
  static_assert(WalkReadAhead::kLevelsUp == 3);
  EXPECT_EQ(out, (std::vector<std::string>{"bottom", "after4", "after3", "after2"}));
}

TEST_F(WalkReadAheadTest, AnErrorOfTheDirectoryEndsTheRound) {
  dirs_.fail = Status::Corruption("entry damaged");
  Status s;
  EXPECT_TRUE(Walk(2, 101, 0, 100, &s).empty());
  EXPECT_TRUE(s.Is(ErrorCode::kCorruption));
}

}  // namespace
}  // namespace cairn
