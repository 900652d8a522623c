// Finding the daemon that serves a cairn mount, for the commands that talk
// to it (`cairn mount --refresh`, `cairn seal`).
#pragma once

#include <string>

#include "common/status.h"

namespace CLI {
class App;
}

namespace cairn {

// The name of the control socket of the daemon serving mountpoint (the
// xattr user.cairn.control of the mount root, fs/control_channel.h).
// NotFound naming mountpoint when it is not the root of a cairn mount.
Result<std::string> ControlNameOf(const std::string& mountpoint);

// The sub-mount of MNT that serves head/.
inline std::string HeadMountPoint(const std::string& mountpoint) { return mountpoint + "/head"; }

struct Context;
// `cairn umount` (tools/cmd_umount.cc), registered by RegisterMount.
void RegisterUmount(CLI::App& app, Context& ctx);

}  // namespace cairn
