// Runs a command to its end for cross-component tests, keeping its stdout apart from its stderr
// (a CLI whose stdout is data, such as a CSV export, must not get log lines mixed into it).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace canvoy::testing {

struct CommandResult {
  std::optional<int> exit_code;  // 128+signal when killed; nullopt when it outlived the deadline
  std::string out;               // everything it wrote to stdout
  std::string err;               // everything it wrote to stderr
};

// Runs `exe args...` with stdout and stderr in files under `scratch` (named by `name`), waits at
// most `timeout` for it to exit (then kills it) and returns its exit code and output.
inline CommandResult RunCommand(const std::string& exe, const std::vector<std::string>& args,
                                const std::filesystem::path& scratch, const std::string& name,
                                std::chrono::milliseconds timeout) {
  const std::filesystem::path out_path = scratch / (name + ".out");
  const std::filesystem::path err_path = scratch / (name + ".err");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) ::_exit(126);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::close(out);
    ::close(err);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  CommandResult result;
  if (pid < 0) return result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling waitpid
  }
  auto slurp = [](const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  return result;
}

}  // namespace canvoy::testing
