// The command line: flags, the commands for people after them, and every bad
// form with its exact message.

#include "options.hpp"

#include <gtest/gtest.h>

namespace drwatch::daemon {
namespace {

std::optional<Options> Parse(std::vector<std::string> args, std::string* error_out = nullptr) {
  std::string error;
  auto o = ParseOptions(args, error);
  if (error_out) *error_out = error;
  return o;
}

std::string ErrorOf(std::vector<std::string> args) {
  std::string error;
  EXPECT_FALSE(ParseOptions(args, error).has_value());
  return error;
}

TEST(ParseOptions, ServeByDefaultWithTheDefaultStoragePath) {
  auto o = Parse({"--config.file=c.yml"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::kServe);
  EXPECT_EQ(o->storage_path, "/var/lib/drwatch");
  o = Parse({"--config.file", "c.yml", "--storage.path", "/tmp/s"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->storage_path, "/tmp/s");
}

TEST(ParseOptions, BackupRunAndList) {
  auto o = Parse({"--config.file=c.yml", "--storage.path=/tmp/s", "backup", "run", "nightly"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::kBackupRun);
  EXPECT_EQ(o->check, "nightly");
  EXPECT_EQ(o->storage_path, "/tmp/s");
  o = Parse({"--config.file=c.yml", "backup", "list", "nightly"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::kBackupList);
  EXPECT_STREQ(CommandName(o->command), "backup list");
}

TEST(ParseOptions, RestoreDrillAndLatest) {
  auto o = Parse({"--config.file=c.yml", "restore", "drill", "weekly_drill"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::kRestoreDrill);
  EXPECT_EQ(o->check, "weekly_drill");
  o = Parse({"--config.file=c.yml", "restore", "latest", "nightly", "--to", "host=h dbname=new", "--force"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::kRestoreLatest);
  EXPECT_EQ(o->restore_to, "host=h dbname=new");
  EXPECT_TRUE(o->force);
  o = Parse({"--config.file=c.yml", "restore", "latest", "nightly", "--to=postgresql://u@h/db"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->restore_to, "postgresql://u@h/db");
  EXPECT_FALSE(o->force);
  EXPECT_FALSE(o->no_owner);
  o = Parse({"--config.file=c.yml", "restore", "latest", "nightly", "--to=dbname=x", "--no-owner"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->no_owner);
}

TEST(ParseOptions, NoOwnerGoesOnlyWithRestoreLatest) {
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "restore", "drill", "weekly_drill", "--no-owner"}),
            "--to, --to-file, --force and --no-owner go only with restore latest");
}

TEST(ParseOptions, EveryBadCommandForm) {
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "dump"}),
            "unknown command \"dump\" (use backup run|list CHECK, backup keygen, backup decrypt FILE or restore "
            "drill|latest CHECK)");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "backup"}), "backup needs a subcommand: run, list, keygen or decrypt");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "restore"}), "restore needs a subcommand: drill or latest");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "backup", "drill", "x"}),
            "unknown subcommand \"backup drill\" (backup takes run, list, keygen or decrypt)");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "restore", "run", "x"}),
            "unknown subcommand \"restore run\" (restore takes drill or latest)");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "backup", "run"}), "backup run needs a check name");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "restore", "drill"}), "restore drill needs a check name");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "backup", "run", "../etc/passwd"}),
            "invalid check name \"../etc/passwd\" (use [a-z][a-z0-9_]*)");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "backup", "run", "a", "b"}),
            "unexpected argument \"b\" after backup run CHECK");
  EXPECT_EQ(ErrorOf({"backup", "run", "nightly"}), "missing --config.file");
}

TEST(ParseOptions, BackupKeygenAndDecryptNeedNoCatalogue) {
  auto o = Parse({"backup", "keygen"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::kBackupKeygen);
  o = Parse({"backup", "decrypt", "/tmp/data.dump.enc", "--key-file", "/etc/drwatch/backup.key"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->command, Command::kBackupDecrypt);
  EXPECT_EQ(o->decrypt_file, "/tmp/data.dump.enc");
  EXPECT_EQ(o->key_file, "/etc/drwatch/backup.key");
  EXPECT_EQ(ErrorOf({"backup", "decrypt"}), "backup decrypt needs a FILE");
  EXPECT_EQ(ErrorOf({"backup", "decrypt", "f.enc"}), "backup decrypt needs --key-file PATH");
  EXPECT_EQ(ErrorOf({"backup", "decrypt", "f.enc", "--key-file="}), "invalid value \"\" for --key-file");
  EXPECT_EQ(ErrorOf({"backup", "decrypt", "a.enc", "b.enc", "--key-file=k"}),
            "unexpected argument \"b.enc\" after backup decrypt FILE");
  EXPECT_EQ(ErrorOf({"backup", "keygen", "nightly"}), "unexpected argument \"nightly\" after backup keygen");
  EXPECT_EQ(ErrorOf({"backup", "keygen", "--key-file=k"}), "--key-file goes only with backup decrypt");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "backup", "run", "nightly", "--key-file=k"}),
            "--key-file goes only with backup decrypt");
}

constexpr const char* kNeedsTarget =
    "restore latest needs the database to restore into: --to DSN, --to-file PATH or $DRWATCH_RESTORE_DSN";

TEST(ParseOptions, RestoreFlagsOnlyWithRestoreLatest) {
  unsetenv("DRWATCH_RESTORE_DSN");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "restore", "latest", "nightly"}), kNeedsTarget);
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "restore", "latest", "nightly", "--force"}),
            kNeedsTarget);
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "backup", "run", "nightly", "--force"}),
            "--to, --to-file, --force and --no-owner go only with restore latest");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--to=host=h"}), "--to, --to-file, --force and --no-owner go only with restore latest");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "restore", "latest", "nightly", "--to"}), "flag --to needs a value");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "restore", "latest", "nightly", "--to="}), "flag --to needs a value");
}

TEST(ParseOptions, DaemonModesDoNotGoWithACommand) {
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--once", "backup", "run", "n"}), "--once does not go with backup run");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--config.check", "restore", "drill", "n"}),
            "--config.check does not go with restore drill");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--once", "--config.check"}),
            "--once and --config.check exclude each other");
}

TEST(ParseOptions, BadFlags) {
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--storage.path="}), "invalid value \"\" for --storage.path");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--storage.path"}), "flag --storage.path needs a value");
  EXPECT_EQ(ErrorOf({"--bogus"}), "unknown flag --bogus");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--log.level=loud"}), "invalid value \"loud\" for --log.level");
}

TEST(ParseOptions, WebConfigFile) {
  auto o = Parse({"--config.file=c.yml"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->web_config_file, "");
  o = Parse({"--config.file=c.yml", "--web.config.file=/etc/drwatch/web.yml"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->web_config_file, "/etc/drwatch/web.yml");
  o = Parse({"--config.file=c.yml", "--web.config.file", "web.yml", "--config.check"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->web_config_file, "web.yml");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--web.config.file="}), "invalid value \"\" for --web.config.file");
  EXPECT_NE(Usage().find("--web.config.file=PATH"), std::string::npos);
}

TEST(ParseOptions, VersionAndHelpNeedNothingElse) {
  EXPECT_TRUE(Parse({"--version"}));
  EXPECT_TRUE(Parse({"-h"}));
}

// The target DSN can stay out of argv (and so out of ps): a file or a variable.
TEST(ParseOptions, RestoreTargetFromAFileOrTheEnvironment) {
  unsetenv("DRWATCH_RESTORE_DSN");
  auto o = Parse({"--config.file=c.yml", "restore", "latest", "nightly", "--to-file", "/run/dsn"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->restore_to_file, "/run/dsn");
  EXPECT_EQ(o->restore_to, "");
  EXPECT_FALSE(o->restore_to_env);
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "restore", "latest", "nightly", "--to=x", "--to-file=/run/dsn"}),
            "--to and --to-file exclude each other");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "backup", "run", "nightly", "--to-file=/run/dsn"}),
            "--to, --to-file, --force and --no-owner go only with restore latest");
  setenv("DRWATCH_RESTORE_DSN", "host=h password=p", 1);
  o = Parse({"--config.file=c.yml", "restore", "latest", "nightly"});
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->restore_to_env);
  o = Parse({"--config.file=c.yml", "restore", "latest", "nightly", "--to=dbname=x"});
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->restore_to_env);  // --to wins
  unsetenv("DRWATCH_RESTORE_DSN");
}

TEST(ParseOptions, MaxConnectionsIsAPositiveCount) {
  auto o = Parse({"--config.file=c.yml"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->max_connections, 256u);
  o = Parse({"--config.file=c.yml", "--web.max-connections=16"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->max_connections, 16u);
  for (const char* bad : {"0", "-1", "x", "16k", "", "2000000"}) {
    EXPECT_EQ(ErrorOf({"--config.file=c.yml", std::string("--web.max-connections=") + bad}),
              std::string("invalid value \"") + bad + "\" for --web.max-connections")
        << bad;
  }
}

TEST(Usage, NamesEveryCommandAndTheStoragePath) {
  auto usage = Usage();
  for (const char* s : {"backup run CHECK", "backup list CHECK", "backup keygen", "backup decrypt FILE --key-file PATH",
                        "restore drill CHECK", "restore latest CHECK [--to DSN | --to-file PATH]", "--storage.path=DIR"}) {
    EXPECT_NE(usage.find(s), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace drwatch::daemon

namespace drwatch::daemon {
namespace {

TEST(ParseOptions, OnceTakesAChecklistAndAnOutputFormat) {
  std::string error;
  auto o = ParseOptions({"--config.file=c.yml", "--once", "--checklist=weekly", "--output", "junit"}, error);
  ASSERT_TRUE(o) << error;
  EXPECT_EQ(o->checklist, "weekly");
  EXPECT_TRUE(o->junit);
  EXPECT_FALSE(ParseOptions({"--config.file=c.yml", "--once", "--checklist=hourly"}, error));
  EXPECT_EQ(error, "invalid value \"hourly\" for --checklist");
  EXPECT_FALSE(ParseOptions({"--config.file=c.yml", "--once", "--output=xml"}, error));
  EXPECT_EQ(error, "invalid value \"xml\" for --output");
  EXPECT_FALSE(ParseOptions({"--config.file=c.yml", "--checklist=daily"}, error));
  EXPECT_EQ(error, "--checklist and --output go only with --once");
}

TEST(ParseOptions, ShardGoesWithTheDaemonOnceAndConfigCheck) {
  auto o = Parse({"--config.file=c.yml"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->shard.index, 0u);
  EXPECT_EQ(o->shard.count, 1u);
  for (auto mode : {std::vector<std::string>{}, {"--once"}, {"--config.check"}}) {
    std::vector<std::string> args{"--config.file=c.yml", "--shard=2/3"};
    args.insert(args.end(), mode.begin(), mode.end());
    o = Parse(args);
    ASSERT_TRUE(o);
    EXPECT_EQ(o->shard.index, 2u);
    EXPECT_EQ(o->shard.count, 3u);
  }
  o = Parse({"--config.file=c.yml", "--shard", "0/1"});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->shard.count, 1u);
}

TEST(ParseOptions, BadShardValuesSayWhy) {
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--shard=0/0"}),
            "invalid --shard \"0/0\": the number of shards N must be 1 to 1024");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--shard=3/2"}),
            "invalid --shard \"3/2\": the shard index must be below N (0 to 1)");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--shard=a/b"}),
            "invalid --shard \"a/b\": use i/N, the shard index i from 0 to N-1 of N shards");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--shard=1/0"}),
            "invalid --shard \"1/0\": the number of shards N must be 1 to 1024");
  EXPECT_EQ(ErrorOf({"--config.file=c.yml", "--shard=0/2", "backup", "run", "nightly"}),
            "--shard does not go with backup run (a command runs the check it names)");
}

}  // namespace
}  // namespace drwatch::daemon
