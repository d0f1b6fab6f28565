#include "common/percent.hpp"

#include <gtest/gtest.h>

namespace drwatch {
namespace {

TEST(PercentEncode, KeepsOnlyUnreservedCharactersLikeRfc3986) {
  EXPECT_EQ(PercentEncode("a-._~Z9 /+*é"), "a-._~Z9%20%2F%2B%2A%C3%A9");
  EXPECT_EQ(PercentEncode("a/b", false), "a/b");
  EXPECT_EQ(PercentEncode(std::string("\0\xff", 2)), "%00%FF");
}

TEST(PercentDecode, DecodesEitherCaseAndKeepsWhatIsNotAnEscape) {
  EXPECT_EQ(PercentDecode("%E1%88%B4%zz%4"), "\xE1\x88\xB4%zz%4");
  EXPECT_EQ(PercentDecode("us%65r%3aP%40ss"), "user:P@ss");
  EXPECT_EQ(PercentDecode("a+b%"), "a+b%");
  EXPECT_EQ(PercentDecode(PercentEncode("p w/ä%")), "p w/ä%");
}

}  // namespace
}  // namespace drwatch
