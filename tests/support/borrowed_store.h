// BorrowedStore: lets a Repository (which owns its store) use a store the
// test keeps and inspects or damages meanwhile. Every call, retention,
// restore and traits included, is forwarded (ForwardingStore).
#pragma once

#include "backend/forwarding_store.h"

namespace cairn {

class BorrowedStore final : public ForwardingStore {
 public:
  // s must outlive this store.
  explicit BorrowedStore(ObjectStore& s) : ForwardingStore(s) {}
};

}  // namespace cairn
