#include "pg/tools.hpp"

#include <libpq-fe.h>
#include <sys/stat.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <memory>

#include "common/redact.hpp"
#include "pg/quote.hpp"

namespace drwatch::pg {
namespace {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

constexpr std::size_t kStderrCap = 64 * 1024;

struct OptionsDeleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
using Options = std::unique_ptr<PQconninfoOption, OptionsDeleter>;

Options Parse(const std::string& conninfo) {
  char* err = nullptr;
  Options opts(PQconninfoParse(conninfo.c_str(), &err));
  if (err) PQfreemem(err);
  return opts;
}

std::string LastLine(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  auto nl = text.rfind('\n');
  return std::string(nl == std::string_view::npos ? text : text.substr(nl + 1));
}

}  // namespace

PgEnv PgEnvironment(const std::string& conninfo, const std::string& dbname, const std::string& application_name) {
  PgEnv env;
  Options opts = Parse(conninfo);
  if (!opts) {
    env.error = "invalid connection string";
    return env;
  }
  for (auto* o = opts.get(); o->keyword; ++o) {
    if (o->val && *o->val && o->envvar) env.set[o->envvar] = o->val;
  }
  if (!dbname.empty()) env.set["PGDATABASE"] = dbname;
  if (!application_name.empty() && !env.set.contains("PGAPPNAME")) env.set["PGAPPNAME"] = application_name;
  return env;
}

std::string WithDatabase(const std::string& conninfo, const std::string& dbname) {
  Options opts = Parse(conninfo);
  if (!opts) return conninfo;  // Connect reports it
  std::string out;
  for (auto* o = opts.get(); o->keyword; ++o) {
    if (std::string_view(o->keyword) == "dbname" || !o->val || !*o->val) continue;
    out += std::string(o->keyword) + "=" + QuoteConninfoValue(o->val) + " ";
  }
  return out + "dbname=" + QuoteConninfoValue(dbname);
}

std::string PostgresBinDir(int major) {
  std::string dir = "/usr/lib/postgresql/" + std::to_string(major) + "/bin";
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return dir;
  return "";
}

int ServerMajor(std::string_view version) {
  int major = 0;
  std::size_t i = 0;
  while (i < version.size() && version[i] >= '0' && version[i] <= '9') major = major * 10 + (version[i++] - '0');
  if (i == 0) return 0;
  if (i == version.size() && major >= 100000) return major / 10000;  // server_version_num
  return major;
}

asio::awaitable<std::string> FindPgProgram(BlockingPool& pool, int major, std::string program, std::string& error) {
  auto look = [major, program] {
    std::string dir = PostgresBinDir(major);
    std::string path = dir.empty() ? std::string() : dir + "/" + program;
    struct stat st;
    if (!path.empty() && ::stat(path.c_str(), &st) != 0) path.clear();
    return path;
  };
  auto ignore = [](std::string) {};
  auto found = co_await RunBlocking(pool, look, ignore);
  std::string path = found.value_or("");
  if (path.empty()) {
    error = program + " of PostgreSQL " + std::to_string(major) + " not found: install postgresql-client-" +
            std::to_string(major);
  }
  co_return path;
}

SpawnSpec ToolSpec(std::vector<std::string> argv, const PgEnv& env) {
  SpawnSpec spec;
  spec.argv = std::move(argv);
  spec.env = env.set;
  if (env.inherit_own) spec.inherit_env = {"PG*"};
  return spec;
}

asio::awaitable<ToolResult> RunTool(asio::any_io_executor executor, SpawnSpec spec, std::size_t out_cap) {
  ToolResult result;
  std::string name = spec.argv.empty() ? std::string("?") : spec.argv[0].substr(spec.argv[0].rfind('/') + 1);
  auto child = Subprocess::Spawn(executor, spec, result.error);
  if (!child) co_return result;
  auto [out, err] = co_await (ReadAllCapped(child->stdout_pipe(), out_cap) &&
                              ReadAllCapped(child->stderr_pipe(), kStderrCap));
  ExitStatus status = co_await child->Wait();
  result.out = std::move(out);
  result.err = Redactor::Global().Apply(err);
  if (!status.ok()) {
    std::string last = LastLine(result.err);
    result.error = name + ": " + status.Describe() + (last.empty() ? "" : ": " + last);
  } else if (result.out.size() >= out_cap) {
    result.error = name + ": more than " + std::to_string(out_cap) + " bytes of output";
  }
  co_return result;
}

}  // namespace drwatch::pg
