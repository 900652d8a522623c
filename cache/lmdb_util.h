// Small LMDB helpers shared by the cache's environments (CacheDb,
// TreeCache, BlobCache): byte views as MDB_vals, an RAII transaction and the
// one mapping of LMDB return codes to Status.
#pragma once

#include <lmdb.h>

#include <cerrno>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace cairn::lmdb {

inline MDB_val Val(ByteView b) { return MDB_val{b.size(), const_cast<uint8_t*>(b.data())}; }
inline ByteView View(const MDB_val& v) {
  return {static_cast<const uint8_t*>(v.mv_data), v.mv_size};
}

// "<cache>: <what>: <LMDB's message>", with the fix for a full map;
// NoSpace for ENOSPC, IOError otherwise.
inline std::string Message(int rc, std::string_view cache, std::string_view what) {
  return std::string(cache) + ": " + std::string(what) + ": " + mdb_strerror(rc);
}
inline Status Error(int rc, std::string_view cache, std::string_view what) {
  std::string msg = Message(rc, cache, what);
  if (rc == MDB_MAP_FULL) msg += " (cache is full; remove it with `cairn cache clear`)";
  if (rc == ENOSPC) return Status::NoSpace(msg);
  return Status::IOError(msg);
}

// RAII read or write transaction: aborted unless committed.
class Txn {
 public:
  Txn(MDB_env* env, bool write) {
    rc_ = mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &txn_);
    if (rc_) txn_ = nullptr;
  }
  ~Txn() {
    if (txn_) mdb_txn_abort(txn_);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  int rc() const { return rc_; }
  MDB_txn* get() const { return txn_; }
  int Commit() {
    int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    return rc;
  }

 private:
  MDB_txn* txn_ = nullptr;
  int rc_ = 0;
};

// Creates dir and opens an environment in it with room for 8 tables,
// map_size bytes of address space and `readers` reader slots; its files get
// `mode`. The caller owns the env (mdb_env_close).
inline Result<MDB_env*> OpenEnv(const std::string& dir, uint64_t map_size, unsigned flags,
                                unsigned readers, std::string_view cache,
                                mdb_mode_t mode = 0644) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Err(Status::IOError(std::string(cache) + ": cannot create " + dir + ": " +
                               ec.message() + " (use --cache-dir to pick another place)"));
  }
  MDB_env* env = nullptr;
  if (int rc = mdb_env_create(&env)) return Err(Error(rc, cache, "create environment"));
  mdb_env_set_maxdbs(env, 8);
  mdb_env_set_mapsize(env, map_size);
  mdb_env_set_maxreaders(env, readers);
  if (int rc = mdb_env_open(env, dir.c_str(), flags, mode)) {
    mdb_env_close(env);
    return Err(Error(rc, cache, "open " + dir));
  }
  return env;
}

// Opens (creating) the named tables of a freshly opened env in one write
// transaction; dbis[i] receives the handle of names[i]. On error the env is
// left open for the caller to close.
inline Status OpenTables(MDB_env* env, std::span<const char* const> names, MDB_dbi* dbis,
                         std::string_view cache) {
  Txn txn(env, true);
  if (txn.rc()) return Error(txn.rc(), cache, "begin");
  for (size_t i = 0; i < names.size(); ++i) {
    if (int rc = mdb_dbi_open(txn.get(), names[i], MDB_CREATE, &dbis[i])) {
      return Error(rc, cache, std::string("open table ") + names[i]);
    }
  }
  if (int rc = txn.Commit()) return Error(rc, cache, "commit");
  return Status::OK();
}

}  // namespace cairn::lmdb
