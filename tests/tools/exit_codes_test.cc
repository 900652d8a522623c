// Every ErrorCode has an exit code, the failures a script must tell apart
// have exit codes of their own, and every exit code is documented in the
// man page and the README.
#include "tools/exit_codes.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace cairn {
namespace {

// The expected table, written out again so that a change to the mapping is
// a deliberate change to this test too. Indexed by ErrorCode.
const std::map<ErrorCode, int> kExpected = {
    {ErrorCode::kOk, 0},
    {ErrorCode::kNotFound, 15},
    {ErrorCode::kAlreadyExists, 1},
    {ErrorCode::kCorruption, 13},
    {ErrorCode::kInvalidArgument, 2},
    {ErrorCode::kPermissionDenied, 14},
    {ErrorCode::kLocked, 18},
    {ErrorCode::kTransient, 16},
    {ErrorCode::kCancelled, 130},
    {ErrorCode::kIOError, 1},
    {ErrorCode::kNoSpace, 17},
    {ErrorCode::kWrongPassword, 12},
    {ErrorCode::kUnsupported, 11},
    {ErrorCode::kNotARepository, 10},
    {ErrorCode::kPartial, 3},
    {ErrorCode::kOutOfRange, 13},
    {ErrorCode::kNotADirectory, 1},
    {ErrorCode::kIsADirectory, 1},
    {ErrorCode::kNotEmpty, 1},
    {ErrorCode::kCrossDevice, 1},
    {ErrorCode::kNameTooLong, 1},
    {ErrorCode::kReadOnly, 14},
};

TEST(ExitCodesTest, EveryErrorCodeHasItsExpectedExitCode) {
  ASSERT_EQ(kExpected.size(), kErrorCodeCount) << "a new ErrorCode needs a row here";
  for (unsigned i = 0; i < kErrorCodeCount; ++i) {
    const auto code = static_cast<ErrorCode>(i);
    ASSERT_TRUE(kExpected.count(code)) << "ErrorCode " << i << " has no row";
    EXPECT_EQ(ExitCodeFor(code), kExpected.at(code)) << "ErrorCode " << i;
    EXPECT_EQ(ExitCodeFor(Status(code, "m")), kExpected.at(code)) << "ErrorCode " << i;
  }
}

TEST(ExitCodesTest, FailuresAUserMustTellApartHaveTheirOwnCodes) {
  const ErrorCode distinct[] = {
      ErrorCode::kInvalidArgument, ErrorCode::kPartial,   ErrorCode::kNotARepository,
      ErrorCode::kUnsupported,     ErrorCode::kWrongPassword, ErrorCode::kCorruption,
      ErrorCode::kPermissionDenied, ErrorCode::kNotFound, ErrorCode::kTransient,
      ErrorCode::kNoSpace,         ErrorCode::kLocked,    ErrorCode::kCancelled,
  };
  std::set<int> seen = {kExitOk, kExitError};
  for (ErrorCode c : distinct) {
    EXPECT_TRUE(seen.insert(ExitCodeFor(c)).second)
        << "ErrorCode " << static_cast<int>(c) << " shares exit code " << ExitCodeFor(c);
  }
  EXPECT_EQ(ExitCodeFor(Status::OK()), 0);
}

TEST(ExitCodesTest, ABytePastTheLastCodeIsAnError) {
  // The mount daemon sends its error code through a pipe as one byte.
  EXPECT_EQ(ExitCodeFor(static_cast<ErrorCode>(kErrorCodeCount)), kExitError);
  EXPECT_EQ(ExitCodeFor(static_cast<ErrorCode>(255)), kExitError);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::set<int> AllExitCodes() {
  std::set<int> codes;
  for (unsigned i = 0; i < kErrorCodeCount; ++i) codes.insert(ExitCodeFor(static_cast<ErrorCode>(i)));
  codes.insert(kExitUsage);  // also for command-line parse errors
  codes.insert(kExitUnknownCommand);  // a parse error of its own, no ErrorCode
  return codes;
}

TEST(ExitCodesTest, EveryExitCodeIsInTheManPage) {
  const std::string man = ReadFile(CAIRN_SOURCE_DIR "/man/cairn.1");
  const size_t begin = man.find(".SH EXIT STATUS");
  ASSERT_NE(begin, std::string::npos);
  const size_t end = man.find(".SH ", begin + 1);
  const std::string section = man.substr(begin, end - begin);
  std::set<int> documented;
  const std::regex item(R"(\.TP\n\.B (\d+)\n)");
  for (std::sregex_iterator it(section.begin(), section.end(), item), last; it != last; ++it) {
    documented.insert(std::stoi((*it)[1]));
  }
  EXPECT_EQ(documented, AllExitCodes());
}

TEST(ExitCodesTest, EveryExitCodeIsInTheReadme) {
  const std::string readme = ReadFile(CAIRN_SOURCE_DIR "/README.md");
  const size_t begin = readme.find("### Exit status");
  ASSERT_NE(begin, std::string::npos);
  const size_t end = readme.find("\n#", begin + 1);
  const std::string section = readme.substr(begin, end - begin);
  std::set<int> documented;
  const std::regex row(R"(\n\| (\d+) \|)");
  for (std::sregex_iterator it(section.begin(), section.end(), row), last; it != last; ++it) {
    documented.insert(std::stoi((*it)[1]));
  }
  EXPECT_EQ(documented, AllExitCodes());
}

}  // namespace
}  // namespace cairn
