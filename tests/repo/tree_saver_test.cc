// TreeSaver on its own: directories finish bottom-up whatever the order of
// releases, a reused subtree is taken as it is, dropped entries are left
// out, and a failed or stopped write ends with a zero root id.
#include "repo/tree_saver.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

namespace cairn {
namespace {

// Records every tree written; a tree's id is made from its entries' names
// and subtrees, so equal trees get equal ids.
struct Recorder {
  std::mutex mu;
  std::vector<std::string> order;                 // paths in the order written
  std::map<std::string, std::vector<Node>> trees;  // by path
  bool fail = false;
  std::atomic<bool> stopped{false};
  std::vector<Status> failures;

  TreeSaver Make() {
    return TreeSaver(
        [this](std::span<const Node> nodes, const std::string& path) -> Result<Id> {
          std::lock_guard<std::mutex> lock(mu);
          if (fail) return Err(Status::IOError("disk on fire"));
          order.push_back(path);
          trees[path].assign(nodes.begin(), nodes.end());
          std::string key;
          for (const auto& n : nodes) key += n.name + "=" + n.subtree.Hex() + ";";
          Id id;
          for (size_t i = 0; i < key.size(); ++i) id.bytes[i % id.bytes.size()] ^= key[i];
          id.bytes[0] ^= 1;  // never zero
          return id;
        },
        [this] { return stopped.load(); },
        [this](const Status& s) {
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(s);
        });
  }
};

Node Named(const std::string& name, NodeType type = NodeType::kFile) {
  Node n;
  n.name = name;
  n.type = type;
  return n;
}

TEST(TreeSaverTest, ChildrenAreWrittenBeforeParentsAndFillTheirSubtrees) {
  Recorder r;
  TreeSaver saver = r.Make();
  auto* root = saver.Root("/");
  root->Resize(3);
  root->node(0) = Named("a", NodeType::kDir);
  root->node(1) = Named("b", NodeType::kDir);
  root->node(2) = Named("f");
  auto* a = saver.Child(root, 0, "/a");
  auto* b = saver.Child(root, 1, "/b");
  a->Resize(1);
  a->node(0) = Named("x");
  b->Resize(1);
  b->node(0) = Named("y");
  saver.Hold(b);  // a file of b still being read on another thread
  saver.Release(root);
  saver.Release(b);
  std::thread reader([&] { saver.Release(b); });
  reader.join();
  saver.Release(a);
  const Id id = saver.Wait();
  EXPECT_FALSE(id.IsZero());
  ASSERT_EQ(r.order.size(), 3u);
  EXPECT_EQ(r.order.back(), "/");
  EXPECT_EQ(saver.trees_written(), 3u);
  const auto& top = r.trees["/"];
  ASSERT_EQ(top.size(), 3u);
  EXPECT_FALSE(top[0].subtree.IsZero());
  EXPECT_FALSE(top[1].subtree.IsZero());
  EXPECT_NE(top[0].subtree, top[1].subtree);
}

TEST(TreeSaverTest, ReusedSubtreeIsKeptAndNotWritten) {
  Recorder r;
  TreeSaver saver = r.Make();
  Id old;
  old.bytes[5] = 42;
  auto* root = saver.Root("/");
  root->Resize(2);
  root->node(0) = Named("kept", NodeType::kDir);
  root->node(1) = Named("new", NodeType::kDir);
  saver.Reuse(root, 0, old);
  auto* fresh = saver.Child(root, 1, "/new");
  saver.Release(fresh);  // empty directory
  saver.Release(root);
  EXPECT_FALSE(saver.Wait().IsZero());
  EXPECT_EQ(saver.trees_written(), 2u);
  EXPECT_EQ(r.trees.count("/kept"), 0u);
  EXPECT_EQ(r.trees["/"][0].subtree, old);
  EXPECT_TRUE(r.trees["/new"].empty());
}

TEST(TreeSaverTest, DroppedEntriesAreLeftOut) {
  Recorder r;
  TreeSaver saver = r.Make();
  auto* root = saver.Root("/");
  root->Resize(3);
  root->node(0) = Named("a");
  root->node(1) = Named("gone");
  root->node(2) = Named("z");
  root->Drop(1);
  saver.Release(root);
  saver.Wait();
  ASSERT_EQ(r.trees["/"].size(), 2u);
  EXPECT_EQ(r.trees["/"][0].name, "a");
  EXPECT_EQ(r.trees["/"][1].name, "z");
}

TEST(TreeSaverTest, FailedWriteIsReportedWithTheDirectoryAndGivesNoRoot) {
  Recorder r;
  r.fail = true;
  TreeSaver saver = r.Make();
  auto* root = saver.Root("/");
  root->Resize(1);
  root->node(0) = Named("d", NodeType::kDir);
  saver.Release(saver.Child(root, 0, "/d"));
  saver.Release(root);
  EXPECT_TRUE(saver.Wait().IsZero());
  ASSERT_FALSE(r.failures.empty());
  EXPECT_EQ(r.failures[0].code(), ErrorCode::kIOError);
  EXPECT_NE(r.failures[0].message().find("writing the tree of /d"), std::string::npos);
}

TEST(TreeSaverTest, StoppedRunWritesNothing) {
  Recorder r;
  r.stopped = true;
  TreeSaver saver = r.Make();
  auto* root = saver.Root("/");
  saver.Release(root);
  EXPECT_TRUE(saver.Wait().IsZero());
  EXPECT_EQ(saver.trees_written(), 0u);
  EXPECT_TRUE(r.order.empty());
  EXPECT_TRUE(r.failures.empty());
}

}  // namespace
}  // namespace cairn
