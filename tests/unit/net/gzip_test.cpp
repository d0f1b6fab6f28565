// gzip in parts: a head deflated once and a tail deflated per response make
// one gzip member that any reader inflates to head + tail.

#include "net/gzip.hpp"

#include <gtest/gtest.h>

#include "support/http_client.hpp"

namespace drwatch::net {
namespace {

std::string Lines(const std::string& prefix, int count) {
  std::string text;
  for (int i = 0; i < count; ++i) text += prefix + "{check=\"c" + std::to_string(i) + "\"} " + std::to_string(i % 7) + "\n";
  return text;
}

TEST(Gzip, RoundTrip) {
  for (const std::string& text : {std::string(), std::string("x"), Lines("drwatch_check_success", 5000)}) {
    EXPECT_EQ(test::Gunzip(Gzip(text)), text);
  }
}

TEST(Gzip, AHeadAndATailMakeOneMember) {
  const std::string head = Lines("drwatch_check_success", 20000);  // ~0.8 MB: several deflate blocks
  const std::string tail = Lines("process_cpu_seconds_total", 3);
  std::string body = GzipJoin(Deflate(head, false), Deflate(tail, true));
  EXPECT_EQ(test::Gunzip(body), head + tail);
  EXPECT_LT(body.size(), head.size() / 4);
  EXPECT_EQ(test::Gunzip(GzipJoin(Deflate("", false), Deflate(tail, true))), tail);
  EXPECT_EQ(test::Gunzip(GzipJoin(Deflate(head, false), Deflate("", true))), head);
}

TEST(Gzip, SharedTextDeflatesOnce) {
  SharedText shared(Lines("drwatch_check_success", 100));
  const DeflatedPart* first = &shared.Deflated();
  EXPECT_EQ(first, &shared.Deflated());
  EXPECT_EQ(test::Gunzip(GzipJoin(shared.Deflated(), Deflate("tail\n", true))), shared.text() + "tail\n");
  EXPECT_EQ(test::Gunzip(GzipJoin(shared.Deflated(), Deflate("other\n", true))), shared.text() + "other\n");
}

}  // namespace
}  // namespace drwatch::net
