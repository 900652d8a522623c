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

// Where ReadPassword takes the password from, for messages:
// "--password-command `cmd`", "--password-file F", "CAIRN_PASSWORD" or "the
// terminal prompt".
std::string DescribePasswordSource(const PasswordSource& src);

// prompt is shown on /dev/tty; with confirm the user types it twice. Ctrl-C
// at the prompt: Cancelled, the terminal restored.
Result<std::string> ReadPassword(const PasswordSource& src, const std::string& prompt,
                                 bool confirm);
// A password from the terminal only (for `key add`'s new password) unless
// file is given.
Result<std::string> ReadNewPassword(const std::string& file, const std::string& prompt);

}  // namespace cairn
