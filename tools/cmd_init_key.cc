// cairn key add|list|remove|passwd (cairn init is in cmd_init.cc)
#include <algorithm>
#include <cstdio>

#include "common/clock.h"
#include "repo/keys.h"
#include "tools/cli.h"
#include "tools/format.h"

namespace cairn {

namespace {

Status RunKeyList(Context& ctx) {
  CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository(true));
  std::vector<KeyInfo> keys;
  CAIRN_RETURN_IF_ERROR(repo->store().List("keys/", [&](const ObjectInfo& info) -> Status {
    CAIRN_ASSIGN_OR_RETURN(Bytes file, repo->store().Get(info.key));
    auto k = ReadKeyInfo(file, info.key);
    if (k) keys.push_back(*k);
    return Status::OK();
  }));
  std::sort(keys.begin(), keys.end(),
            [](const KeyInfo& a, const KeyInfo& b) { return a.created_ns < b.created_ns; });
  if (ctx.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& k : keys) {
      arr.push_back({{"id", k.id.Hex()},
                     {"current", k.id == repo->key_id()},
                     {"username", k.username},
                     {"hostname", k.hostname},
                     {"created", FormatTime(k.created_ns)}});
    }
    printf("%s\n", DumpJson(arr).c_str());
    return Status::OK();
  }
  std::vector<std::vector<std::string>> rows{{" ", "ID", "User", "Host", "Created"}};
  for (const auto& k : keys) {
    rows.push_back({k.id == repo->key_id() ? "*" : " ", k.id.Short(), k.username, k.hostname,
                    FormatLocalTime(k.created_ns)});
  }
  PrintTable(rows);
  return Status::OK();
}

Result<Id> AddKey(Context& ctx, Repository& repo, const std::string& new_file, uint64_t kdf_n) {
  CAIRN_ASSIGN_OR_RETURN(std::string pw, ReadNewPassword(new_file, "enter the new password: "));
  ScryptParams kdf;
  kdf.n = kdf_n;
  CAIRN_ASSIGN_OR_RETURN(Id id, repo.AddKey(pw, kdf));
  ctx.Say("added key " + id.Short());
  return id;
}

Status RemoveKey(Context& ctx, Repository& repo, const std::string& prefix) {
  if (prefix.size() < 4) return Status::InvalidArgument("give at least 4 hex digits of the key id");
  std::vector<std::string> matches;
  CAIRN_RETURN_IF_ERROR(repo.store().List("keys/" + prefix, [&](const ObjectInfo& info) {
    matches.push_back(info.key);
    return Status::OK();
  }));
  if (matches.empty()) return Status::NotFound("no key with id " + prefix);
  if (matches.size() > 1) return Status::InvalidArgument("key prefix " + prefix + " is ambiguous");
  if (matches[0] == KeyKey(repo.key_id())) {
    return Status::InvalidArgument("refusing to remove the key in use (open the repository with "
                                   "another password to remove it)");
  }
  CAIRN_RETURN_IF_ERROR(repo.store().Delete(matches[0]));
  ctx.Say("removed key " + matches[0].substr(5, 8));
  return Status::OK();
}

}  // namespace

void RegisterKey(CLI::App& app, Context& ctx) {
  struct KeyArgs {
    std::string new_password_file;
    std::string id;
    uint64_t kdf_n = 1 << 15;
  };
  auto& a = ctx.Make<KeyArgs>();
  auto* key = app.add_subcommand("key", "manage the passwords of the repository");
  key->require_subcommand(1);
  auto* list = key->add_subcommand("list", "list the key files");
  list->callback([&] { ctx.run = [&] { return RunKeyList(ctx); }; });
  auto* add = key->add_subcommand("add", "add a password");
  add->add_option("--new-password-file", a.new_password_file, "read the new password from a file");
  add->add_option("--kdf-n", a.kdf_n, "scrypt cost N (default 32768)");
  add->callback([&] {
    ctx.run = [&]() -> Status {
      CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository());
      return AsStatus(AddKey(ctx, *repo, a.new_password_file, a.kdf_n));
    };
  });
  auto* remove = key->add_subcommand("remove", "remove a password (not the one in use)");
  remove->add_option("ID", a.id, "key id or prefix")->required();
  remove->callback([&] {
    ctx.run = [&]() -> Status {
      CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository());
      return RemoveKey(ctx, *repo, a.id);
    };
  });
  auto* passwd = key->add_subcommand("passwd", "change the password in use");
  passwd->add_option("--new-password-file", a.new_password_file,
                     "read the new password from a file");
  passwd->add_option("--kdf-n", a.kdf_n, "scrypt cost N (default 32768)");
  passwd->callback([&] {
    ctx.run = [&]() -> Status {
      CAIRN_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepository());
      Id old = repo->key_id();
      CAIRN_RETURN_IF_ERROR(AddKey(ctx, *repo, a.new_password_file, a.kdf_n));
      CAIRN_RETURN_IF_ERROR(repo->store().Delete(KeyKey(old)));
      ctx.Say("removed old key " + old.Short());
      return Status::OK();
    };
  });
}

}  // namespace cairn
