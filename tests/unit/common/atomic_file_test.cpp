// Atomic replacement of small files, one at a time and in batches: every
// file whole, no temporary file left, a file that cannot be written failing
// alone.

#include "common/atomic_file.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/process.hpp"

namespace drwatch {
namespace {

namespace fs = std::filesystem;

TEST(WriteFileAtomically, ReplacesTheFileAndLeavesNoTemporaryFile) {
  std::string dir = test::MakeTempDir();
  std::string error;
  ASSERT_TRUE(WriteFileAtomically(dir + "/a.json", "old", error)) << error;
  ASSERT_TRUE(WriteFileAtomically(dir + "/a.json", "new", error)) << error;
  EXPECT_EQ(test::ReadFile(dir + "/a.json"), "new");
  EXPECT_EQ(test::AllFiles(dir), std::vector<std::string>{"a.json"});
}

TEST(WriteFileAtomically, MakesAMissingDirectoryOneLevelDeep) {
  std::string dir = test::MakeTempDir();
  std::string error;
  ASSERT_TRUE(WriteFileAtomically(dir + "/checks/a.json", "x", error)) << error;
  EXPECT_EQ(test::ReadFile(dir + "/checks/a.json"), "x");
  EXPECT_FALSE(WriteFileAtomically(dir + "/no/such/a.json", "x", error));
  EXPECT_NE(error.find("cannot write " + dir + "/no/such/a.json.tmp-"), std::string::npos) << error;
}

TEST(WriteFilesAtomically, WritesEveryFileOfABatchLargerThanAChunk) {
  std::string dir = test::MakeTempDir();
  std::vector<FileWrite> files;
  std::vector<std::string> names;
  for (int i = 0; i < 200; ++i) {
    std::string name = "f" + std::to_string(1000 + i) + ".json";
    files.push_back({dir + "/" + name, std::string(static_cast<std::size_t>(i) * 37, 'x') + std::to_string(i)});
    names.push_back(name);
  }
  auto errors = WriteFilesAtomically(files);
  ASSERT_EQ(errors.size(), files.size());
  for (const auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(test::AllFiles(dir), names);
  for (const auto& f : files) EXPECT_EQ(test::ReadFile(f.path), f.text) << f.path;
}

TEST(WriteFilesAtomically, AFileThatCannotBeWrittenFailsAloneAndLeavesNothing) {
  std::string dir = test::MakeTempDir();
  fs::create_directory(dir + "/target-is-a-directory");
  std::vector<FileWrite> files = {{dir + "/a.json", "a"},
                                  {dir + "/missing/deeper/b.json", "b"},
                                  {dir + "/target-is-a-directory", "c"},
                                  {dir + "/d.json", "d"}};
  auto errors = WriteFilesAtomically(files);
  EXPECT_EQ(errors[0], "");
  EXPECT_NE(errors[1].find("cannot write " + dir + "/missing/deeper/b.json.tmp-"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("cannot write " + dir + "/target-is-a-directory: Is a directory"), std::string::npos)
      << errors[2];
  EXPECT_EQ(errors[3], "");
  EXPECT_EQ(test::ReadFile(dir + "/a.json"), "a");
  EXPECT_EQ(test::ReadFile(dir + "/d.json"), "d");
  EXPECT_EQ(test::AllFiles(dir), (std::vector<std::string>{"a.json", "d.json"}))
      << "no temporary file left beside them (nor in the directory that was in the way)";
  EXPECT_TRUE(fs::is_directory(dir + "/target-is-a-directory"));
  EXPECT_TRUE(fs::is_empty(dir + "/target-is-a-directory"));
}

}  // namespace
}  // namespace drwatch
