// cairn umount: waits for head/'s staged data to be stored (or seals, with
// the mount's --seal-on-unmount), then unmounts MNT/head and MNT, also when
// the daemon died.
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fs/control_channel.h"
#include "fs/fuse_ops.h"
#include "tools/cli.h"
#include "tools/mount_control.h"

namespace cairn {

namespace {

struct UmountArgs {
  std::string mountpoint;
  bool lazy = false;
};

// Unescapes a path of /proc/self/mountinfo (a space is \040, ...).
std::string MountinfoPath(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() &&
        isdigit(static_cast<unsigned char>(field[i + 1]))) {
      out.push_back(static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

// Whether a cairn FUSE mount sits at path (/proc/self/mountinfo: it needs
// no answer from the daemon, which may be dead).
bool IsCairnMount(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point, field;
    f >> id >> parent >> dev >> root >> point;
    while (f >> field && field != "-") {
    }
    std::string fstype;
    f >> fstype;
    if (fstype == "fuse.cairn" && MountinfoPath(point) == path) return true;
  }
  return false;
}

// A plain umount does not wait for the daemon (libfuse#1), so the daemon
// is asked first to store head/'s staged data (or to seal, when mounted
// with --seal-on-unmount). Only Ctrl-C stops the unmount: a daemon that
// cannot store now keeps the data staged for the next mount.
Status PrepareHead(Context& ctx, const std::string& mountpoint) {
  auto daemon = ControlNameOf(mountpoint);
  if (!daemon) return Status::OK();  // not answering: unmounted as it is
  ctx.Say("head/: waiting for staged data to be stored...");
  ControlRequestOptions o;
  o.timeout_ms = -1;
  o.cancel = &ctx.cancel;
  auto reply = ControlRequest(*daemon, "prepare-umount", o);
  if (!reply && reply.error().Is(ErrorCode::kCancelled)) {
    return Status::Cancelled("not unmounted: stopped waiting for head/'s staged data to be "
                             "stored (the daemon goes on storing it)");
  }
  if (!reply) {
    ctx.logger.Warn("head/: {} (its staged data stays staged for the next mount)",
                    reply.error().message());
    return Status::OK();
  }
  ctx.Say("head/: " + *reply);
  return Status::OK();
}

Status RunUmount(Context& ctx, const UmountArgs& a) {
  struct stat st;
  bool dead = stat(a.mountpoint.c_str(), &st) != 0 && errno == ENOTCONN;
  // head/ is a mount inside MNT, which cannot go while head/ is there: it
  // goes first. The path as mountinfo has it: resolved, or (a dead mount
  // cannot be resolved) made absolute.
  std::string absolute;
  if (char* real = realpath(a.mountpoint.c_str(), nullptr)) {
    absolute = real;
    free(real);
  } else {
    absolute = std::filesystem::absolute(a.mountpoint).lexically_normal().string();
    while (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
  }
  if (const std::string head = HeadMountPoint(absolute); IsCairnMount(head)) {
    if (!dead) CAIRN_RETURN_IF_ERROR(PrepareHead(ctx, absolute));
    Status hs = UnmountFuse(head, a.lazy || dead);
    // A dead daemon's head/ goes with the lazy unmount of MNT below.
    if (!hs.ok() && !dead) return hs;
  }
  Status s = UnmountFuse(a.mountpoint, a.lazy || dead);
  if (s.ok()) ctx.Say("unmounted " + a.mountpoint);
  return s;
}

}  // namespace

void RegisterUmount(CLI::App& app, Context& ctx) {
  auto& u = ctx.Make<UmountArgs>();
  auto* ucmd = app.add_subcommand(
      "umount",
      "store head/'s staged data, then unmount a cairn mount, head/ first (also one whose "
      "daemon died)");
  ucmd->add_option("mountpoint", u.mountpoint, "the mount point")->required();
  ucmd->add_flag("-l,--lazy", u.lazy,
                 "detach now even if busy; the daemon exits when the last user is done");
  ucmd->callback([&] { ctx.run = [&] { return RunUmount(ctx, u); }; });
}

}  // namespace cairn
