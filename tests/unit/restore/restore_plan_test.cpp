#include "restore/restore_plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace drwatch::restore {
namespace {

using ::testing::ElementsAre;

// Real `pg_restore -l -v` output of a dump with an auth and a public schema.
constexpr char kListing[] = R"(;
; Archive created at 2026-11-26 23:50:22 UTC
;     dbname: postgres
;
; Selected TOC Entries:
;
3379; 0 0 ENCODING - ENCODING 
3380; 0 0 STDSTRINGS - STDSTRINGS 
3381; 0 0 SEARCHPATH - SEARCHPATH 
6; 2615 16384 SCHEMA - auth postgres
222; 1255 16428 FUNCTION public f() postgres
218; 1259 16397 TABLE auth sessions postgres
;	depends on: 6
217; 1259 16396 SEQUENCE auth sessions_id_seq postgres
;	depends on: 218 6
3384; 0 0 SEQUENCE OWNED BY auth sessions_id_seq postgres
;	depends on: 217
216; 1259 16386 TABLE auth users postgres
;	depends on: 6
215; 1259 16385 SEQUENCE auth users_id_seq postgres
;	depends on: 216 6
220; 1259 16411 TABLE public orders postgres
221; 1259 16424 VIEW public v postgres
;	depends on: 220 220 220
3214; 2604 16400 DEFAULT auth sessions id postgres
;	depends on: 217 218 218
3213; 2604 16389 DEFAULT auth users id postgres
;	depends on: 215 216 216
3374; 0 16397 TABLE DATA auth sessions postgres
;	depends on: 218
3372; 0 16386 TABLE DATA auth users postgres
;	depends on: 216
3376; 0 16411 TABLE DATA public orders postgres
;	depends on: 220
3388; 0 0 SEQUENCE SET auth users_id_seq postgres
;	depends on: 215
3222; 2606 16403 CONSTRAINT auth sessions sessions_pkey postgres
;	depends on: 218
3220; 2606 16393 CONSTRAINT auth users users_pkey postgres
;	depends on: 216
3225; 2606 16418 CONSTRAINT public orders orders_pkey postgres
;	depends on: 220
3223; 1259 16409 INDEX auth sessions_t_idx postgres
;	depends on: 218
3226; 2606 16404 FK CONSTRAINT auth sessions sessions_user_id_fkey postgres
;	depends on: 216 3220 218
3227; 2606 16419 FK CONSTRAINT public orders orders_user_id_fkey postgres
;	depends on: 216 220 3220
)";

std::vector<int> Ids(const RestorePass& pass) {
  std::vector<int> ids;
  for (const auto& line : pass.list) ids.push_back(std::stoi(line));
  return ids;
}

TEST(ParseToc, ReadsEntriesAndDependencies) {
  auto toc = ParseToc(kListing);
  ASSERT_EQ(toc.size(), 24u);
  EXPECT_EQ(toc[0].desc, "ENCODING");
  EXPECT_EQ(toc[0].tag, "ENCODING");
  EXPECT_EQ(toc[3].desc, "SCHEMA");
  EXPECT_EQ(toc[3].schema, "-");
  EXPECT_EQ(toc[3].tag, "auth");
  EXPECT_EQ(toc[7].desc, "SEQUENCE OWNED BY");
  EXPECT_EQ(toc[7].tag, "sessions_id_seq");
  const auto& fk = toc[22];
  EXPECT_EQ(fk.desc, "FK CONSTRAINT");
  EXPECT_EQ(fk.schema, "auth");
  EXPECT_EQ(fk.tag, "sessions sessions_user_id_fkey");
  EXPECT_THAT(fk.deps, ElementsAre(216, 3220, 218));
  EXPECT_EQ(fk.line, "3226; 2606 16404 FK CONSTRAINT auth sessions sessions_user_id_fkey postgres");
}

TEST(PlanPasses, ShortestSystemFirstWithItsDependencies) {
  auto toc = ParseToc(kListing);
  auto passes = PlanPasses(toc, {{"authentication", {"auth.users"}}, {"core", {"public"}}},
                           {"auth.users", "auth.sessions", "orders"});
  ASSERT_EQ(passes.size(), 3u);
  EXPECT_EQ(passes[0].system, "authentication");
  // Special entries, the schema, the table, its sequence, default, data, sequence value, key.
  EXPECT_THAT(Ids(passes[0]), ElementsAre(3379, 3380, 3381, 6, 216, 215, 3213, 3372, 3388, 3220));
  EXPECT_THAT(passes[0].tables, ElementsAre("auth.users"));
  EXPECT_EQ(passes[1].system, "core");
  // The public FK to auth.users can go now: users_pkey is restored.
  EXPECT_THAT(Ids(passes[1]), ElementsAre(3379, 3380, 3381, 222, 220, 221, 3376, 3225, 3227));
  EXPECT_THAT(passes[1].tables, ElementsAre("public.orders"));
  EXPECT_EQ(passes[2].system, "");
  EXPECT_THAT(Ids(passes[2]), ElementsAre(3379, 3380, 3381, 218, 217, 3384, 3214, 3374, 3222, 3223, 3226));
  EXPECT_THAT(passes[2].tables, ElementsAre("auth.sessions"));
}

TEST(PlanPasses, ForeignKeyWaitsForTheTableItReferences) {
  auto toc = ParseToc(kListing);
  // orders first: its FK to auth.users must wait for the pass restoring users.
  auto passes = PlanPasses(toc, {{"core", {"public.orders"}}, {"authentication", {"auth"}}}, {});
  ASSERT_EQ(passes.size(), 3u);  // the function and the view no system covers come last
  EXPECT_THAT(Ids(passes[0]), ElementsAre(3379, 3380, 3381, 220, 3376, 3225));
  auto auth = Ids(passes[1]);
  EXPECT_NE(std::find(auth.begin(), auth.end(), 3227), auth.end());
  EXPECT_NE(std::find(auth.begin(), auth.end(), 3226), auth.end());
  EXPECT_THAT(passes[0].tables, ElementsAre("public.orders"));
}

TEST(PlanPasses, EveryEntryRestoredExactlyOnce) {
  auto toc = ParseToc(kListing);
  auto passes = PlanPasses(toc, {{"authentication", {"auth.sessions"}}}, {});
  std::multiset<int> seen;
  for (const auto& p : passes) {
    for (int id : Ids(p)) {
      if (id < 3379 || id > 3381) seen.insert(id);
    }
  }
  EXPECT_EQ(seen.size(), toc.size() - 3);
  for (const auto& e : toc) {
    if (e.id < 3379 || e.id > 3381) EXPECT_EQ(seen.count(e.id), 1u) << e.line;
  }
}

TEST(PlanPasses, NoSystemsIsOneFullPass) {
  auto toc = ParseToc(kListing);
  auto passes = PlanPasses(toc, {}, {"auth.users"});
  ASSERT_EQ(passes.size(), 1u);
  EXPECT_EQ(passes[0].list.size(), toc.size());
  EXPECT_THAT(passes[0].tables, ElementsAre("auth.users"));
}

TEST(PlanPasses, ACoveredTableMissingFromTheDumpIsStillVerified) {
  auto toc = ParseToc(kListing);
  auto passes = PlanPasses(toc, {{"billing", {"billing.invoices"}}}, {});
  ASSERT_GE(passes.size(), 1u);
  EXPECT_EQ(passes[0].system, "billing");
  EXPECT_TRUE(passes[0].list.empty());
  EXPECT_THAT(passes[0].tables, ElementsAre("billing.invoices"));
}

TEST(Qualified, DefaultsToPublic) {
  EXPECT_EQ(Qualified("orders"), "public.orders");
  EXPECT_EQ(Qualified("auth.users"), "auth.users");
}

}  // namespace
}  // namespace drwatch::restore
