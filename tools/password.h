// Where the repository password comes from, in restic's order: the
// --password-command output, the --password-file, $CAIRN_PASSWORD, else a
// no-echo prompt on the terminal.
#pragma once

#include <string>

#include "common/status.h"

namespace cairn {

struct PasswordSource {
  std::string file;     // --password-file
  std::string command;  // --password-command
};

// prompt is shown on /dev/tty; with confirm the user types it twice.
Result<std::string> ReadPassword(const PasswordSource& src, const std::string& prompt,
                                 bool confirm);
// A password from the terminal only (for `key add`'s new password) unless
// file is given.
Result<std::string> ReadNewPassword(const std::string& file, const std::string& prompt);

}  // namespace cairn
