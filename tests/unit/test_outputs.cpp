// OutputTransaction (ai8xsim/outputs.h): all outputs or none, targets checked first, special
// files never replaced, stale files of an earlier run removed from an output directory.
#include <doctest/doctest.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "ai8xsim/files.h"
#include "ai8xsim/outputs.h"
#include "tests/unit/support.h"

using namespace ai8xsim;
using ai8xsim::testing::Caught;
using ai8xsim::testing::catch_error;

namespace {

std::string fresh_dir() {
  char tmpl[] = "/tmp/ai8xsim-out-XXXXXX";
  const char* d = mkdtemp(tmpl);
  REQUIRE(d != nullptr);
  return d;
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
        out.push_back(e->d_name);
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void put(const std::string& path, const std::string& text) { write_file_atomically(path, text); }

}  // namespace

TEST_CASE("outputs: a bad target anywhere writes nothing and keeps the old files") {
  const std::string dir = fresh_dir();
  put(dir + "/out.npy", "old");
  REQUIRE(mkdir((dir + "/map.svg").c_str(), 0777) == 0);
  OutputTransaction t;
  t.add("--output", dir + "/out.npy", "new");
  t.add_directory("--dump-layers", dir + "/L/deeper");
  t.add("--dump-layers", dir + "/L/deeper/layer_000.npy", "layer");
  t.add("--memory-map", dir + "/map.svg", "svg");
  const Caught c = catch_error([&] { t.commit(); });
  CHECK(c.contains("--memory-map " + dir + "/map.svg: is a directory"));
  CHECK(read_file(dir + "/out.npy") == "old");
  CHECK(names_in(dir) == std::vector<std::string>{"map.svg", "out.npy"});  // no L/, no temps
  std::filesystem::remove_all(dir);
}

TEST_CASE("outputs: the same file twice, an empty name, a FIFO are refused") {
  const std::string dir = fresh_dir();
  {
    OutputTransaction t;
    t.add("--output", dir + "/x", "a");
    t.add("--report", dir + "/./x", "b");
    CHECK(catch_error([&] { t.commit(); }).contains("--report " + dir + "/./x: the same file as --output"));
  }
  {
    OutputTransaction t;
    t.add("--output", "", "a");
    CHECK(catch_error([&] { t.commit(); }).contains("--output: an empty file name"));
  }
  REQUIRE(mkfifo((dir + "/fifo").c_str(), 0644) == 0);
  {
    OutputTransaction t;
    t.add("--output", dir + "/fifo", "a");
    CHECK(catch_error([&] { t.commit(); }).contains("a FIFO (named pipe), not a regular file"));
  }
  struct stat st {};
  REQUIRE(lstat((dir + "/fifo").c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK(names_in(dir) == std::vector<std::string>{"fifo"});
  std::filesystem::remove_all(dir);
}

TEST_CASE("outputs: not committed, nothing is left; stale files of its kind are removed") {
  const std::string dir = fresh_dir();
  {
    OutputTransaction t;  // destroyed before commit
    t.add("--output", dir + "/a", "a");
  }
  CHECK(names_in(dir).empty());
  put(dir + "/layer_007.npy", "stale");
  put(dir + "/notes.txt", "keep");
  OutputTransaction t;
  t.add_directory("--dump-layers", dir, [](const std::string& n) { return n.rfind("layer_", 0) == 0; });
  t.add("--dump-layers", dir + "/layer_000.npy", "new");
  t.commit();
  CHECK(names_in(dir) == std::vector<std::string>{"layer_000.npy", "notes.txt"});
  CHECK(read_file(dir + "/layer_000.npy") == "new");
  std::filesystem::remove_all(dir);
}
