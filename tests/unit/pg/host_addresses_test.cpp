// Multi-host connection strings: every name is resolved before libpq starts
// (on the blocking pool), so PQconnectPoll on the loop never waits for DNS.
//
// Names under .drwatch-test are answered by the getaddrinfo below, which
// this test binary puts in front of the C library's (libpq's calls included):
// slow.drwatch-test takes kSlowLookup and is 127.0.0.1, fast.drwatch-test is
// 127.0.0.1 at once, nx.drwatch-test does not exist; every other name goes to the real resolver.

#include "pg/host_addresses.hpp"

#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netdb.h>

#include <atomic>
#include <map>
#include <string_view>
#include <thread>

#include "pg/connection.hpp"
#include "support/pg_cluster.hpp"

namespace {

using namespace std::chrono_literals;
constexpr auto kSlowLookup = 1500ms;
std::atomic<int> g_slow_lookups{0};

}  // namespace

extern "C" int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
  using Real = int (*)(const char*, const char*, const addrinfo*, addrinfo**);
  static Real real = reinterpret_cast<Real>(::dlsym(RTLD_NEXT, "getaddrinfo"));
  if (node != nullptr && std::string_view(node).ends_with(".drwatch-test")) {
    std::string_view name(node);
    if (name == "nx.drwatch-test") return EAI_NONAME;
    if (name == "fast.drwatch-test") node = "127.0.0.1";
    if (name == "slow.drwatch-test") {
      ++g_slow_lookups;
      std::this_thread::sleep_for(kSlowLookup);
      node = "127.0.0.1";
    }
  }
  return real(node, service, hints, res);
}

namespace drwatch::test {
namespace {

using ::testing::HasSubstr;

// The parsed key=value pairs, to compare connection strings by meaning.
std::map<std::string, std::string> Parse(const std::string& conninfo) {
  std::map<std::string, std::string> out;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), nullptr);
  EXPECT_NE(options, nullptr) << conninfo;
  if (!options) return out;
  for (auto* o = options; o->keyword; ++o) {
    if (o->val) out[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return out;
}

TEST(PinHostAddresses, LeavesASingleHostSocketsAndGivenAddressesAlone) {
  std::string error;
  for (std::string dsn : {"host=db.example port=5432 dbname=app", "host=/run/postgresql,/tmp dbname=app",
                          "host=a,b hostaddr=10.0.0.1,10.0.0.2", "postgresql://app@db/app", "dbname=app"}) {
    EXPECT_EQ(pg::PinHostAddresses(dsn, error), dsn);
    EXPECT_EQ(error, "");
  }
}

TEST(PinHostAddresses, PinsEveryHostOfAList) {
  std::string error;
  std::string pinned = pg::PinHostAddresses(
      "host=127.0.0.1,::1,/run/postgresql port=5432,5433,5434 user=mon password='p w' "
      "target_session_attrs=read-write dbname=app",
      error);
  EXPECT_EQ(error, "");
  auto kv = Parse(pinned);
  EXPECT_EQ(kv["host"], "127.0.0.1,::1,/run/postgresql");
  EXPECT_EQ(kv["hostaddr"], "127.0.0.1,::1,");
  EXPECT_EQ(kv["port"], "5432,5433,5434");
  EXPECT_EQ(kv["user"], "mon");
  EXPECT_EQ(kv["password"], "p w");
  EXPECT_EQ(kv["target_session_attrs"], "read-write");
  EXPECT_EQ(kv["dbname"], "app");
}

TEST(PinHostAddresses, TakesTheUriFormAndOnePortForAll) {
  std::string error;
  auto kv = Parse(pg::PinHostAddresses("postgresql://mon:s%40cret@127.0.0.1,fast.drwatch-test:6432/app", error));
  EXPECT_EQ(error, "");
  EXPECT_EQ(kv["host"], "127.0.0.1,fast.drwatch-test");
  EXPECT_EQ(kv["hostaddr"], "127.0.0.1,127.0.0.1");
  EXPECT_EQ(kv["port"], ",6432");  // the URI's port belongs to the last host
  EXPECT_EQ(kv["password"], "s@cret");
}

TEST(PinHostAddresses, DropsANameThatDoesNotResolveAndFailsWhenNoneDoes) {
  std::string error;
  auto kv = Parse(pg::PinHostAddresses("host=nx.drwatch-test,127.0.0.1 port=1,2", error));
  EXPECT_EQ(error, "");
  EXPECT_EQ(kv["host"], "127.0.0.1");
  EXPECT_EQ(kv["port"], "2");
  EXPECT_EQ(pg::PinHostAddresses("host=nx.drwatch-test,nx.drwatch-test password=s3cret", error), "");
  EXPECT_THAT(error, HasSubstr("could not translate host name \"nx.drwatch-test\" to address"));
}

class PgConnectTiming : public PgClusterTest {};

// The first host refuses at once; libpq would then resolve the second name
// inside PQconnectPoll, on the loop, and stall it for the whole look-up.
TEST_F(PgConnectTiming, ASlowSecondHostNameDoesNotLagTheLoop) {
  std::string dsn = "host=127.0.0.1,slow.drwatch-test port=1," + std::to_string(cluster().Port()) + 
                    " user=postgres dbname=postgres connect_timeout=10";
  int lookups = g_slow_lookups;
  std::string error;
  bool connected = false;
  auto lag = MeasureLoopLag(io_, [&] {
    auto conn = RunWithDeadline(io_, pg::Connection::Connect(pool_, dsn, error), 20s);
    connected = conn && *conn;
  });
  EXPECT_TRUE(connected) << error;
  EXPECT_EQ(g_slow_lookups - lookups, 1);
  EXPECT_LT(lag.busy, lag.idle + kLagSlack) << "idle baseline " << lag.idle.count() << " ms";
}

}  // namespace
}  // namespace drwatch::test
