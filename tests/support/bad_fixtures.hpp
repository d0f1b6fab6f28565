#pragma once

// Table-driven "bad catalogue fixture" tests: each case names a file under
// tests/testdata/ and the exact errors loading it must produce.

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace drwatch::test {

// One bad fixture per validation rule; each error is written after the file
// path ("PATH" + error), so the tables stay independent of the checkout.
struct BadCase {
  std::string file;
  std::vector<std::string> errors;
};

// gtest prints the file name instead of the bytes of the struct.
void PrintTo(const BadCase& c, std::ostream* os);

std::string TestDataPath(const std::string& name);

// Loads the fixture and expects no catalogue and exactly c.errors.
void ExpectRefused(const BadCase& c);

// Test names for INSTANTIATE_TEST_SUITE_P: the file name up to its first dot.
std::string BadCaseName(const testing::TestParamInfo<BadCase>& info);
// The same without the leading "bad_" (suites that always named them so).
std::string BadCaseShortName(const testing::TestParamInfo<BadCase>& info);

}  // namespace drwatch::test
