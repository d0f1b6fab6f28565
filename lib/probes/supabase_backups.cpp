// supabase.backups: GET {api_url}/v1/projects/{ref}/database/backups (the
// Management API) and the age of the newest backup whose status is
// COMPLETED. A project with walg_enabled but an empty list has no backup to
// restore from: that fails. With PITR enabled Supabase takes no daily logical
// backups: then the newest restorable point
// (physical_backup_data.latest_physical_backup_date_unix) is judged instead,
// and the window back to the earliest one against min_pitr_window. A 429 starts a Retry-After window on the target
// during which runs fail at once without calling the API (it allows about
// 60 requests a minute per token).

#include <boost/json.hpp>
#include <cmath>

#include "common/iso8601.hpp"
#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "probes/data_age.hpp"
#include "probes/http_probes.hpp"
#include "targets/supabase_target.hpp"

namespace drwatch::probes {
namespace {

namespace json = boost::json;
using std::chrono::system_clock;

constexpr std::size_t kBodyLimit = 4 * 1024 * 1024;

struct Backups {
  std::optional<system_clock::time_point> newest;  // of the COMPLETED ones
  std::optional<bool> pitr_enabled;
  // physical_backup_data: the restorable range when PITR is enabled.
  std::optional<system_clock::time_point> earliest_point;
  std::optional<system_clock::time_point> latest_point;
  bool walg_enabled = false;
  std::string error;
};

// A unix time in seconds (the API sends integers; a float or null is taken
// as it comes, anything else is absent).
std::optional<system_clock::time_point> UnixTime(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v) return std::nullopt;
  double seconds = 0;
  if (v->is_int64()) seconds = static_cast<double>(v->as_int64());
  else if (v->is_uint64()) seconds = static_cast<double>(v->as_uint64());
  else if (v->is_double()) seconds = v->as_double();
  else return std::nullopt;
  // Years 1970 to 2250, as for timestamps in text: no overflow in a time_point.
  if (!(seconds > 0 && seconds < 8.8e9)) return std::nullopt;
  return system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
      std::chrono::duration<double>(seconds)));
}

// Reads the documented shape; anything else is an error, never a crash.
Backups ReadBackups(std::string_view body) {
  Backups out;
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) {
    out.error = "malformed JSON: " + ec.message();
    return out;
  }
  const json::object* top = doc.if_object();
  const json::value* list = top ? top->if_contains("backups") : nullptr;
  if (!list || !list->is_array()) {
    out.error = "malformed response: no \"backups\" list";
    return out;
  }
  if (const json::value* v = top->if_contains("pitr_enabled"); v && v->is_bool()) out.pitr_enabled = v->as_bool();
  if (const json::value* v = top->if_contains("walg_enabled"); v && v->is_bool()) out.walg_enabled = v->as_bool();
  if (const json::value* v = top->if_contains("physical_backup_data"); v && v->is_object()) {
    out.earliest_point = UnixTime(v->as_object(), "earliest_physical_backup_date_unix");
    out.latest_point = UnixTime(v->as_object(), "latest_physical_backup_date_unix");
  }
  const json::array& backups = list->as_array();
  for (std::size_t i = 0; i < backups.size(); ++i) {
    const json::object* b = backups[i].if_object();
    const json::value* status = b ? b->if_contains("status") : nullptr;
    if (!status || !status->is_string() || status->as_string() != "COMPLETED") continue;
    const json::value* inserted = b->if_contains("inserted_at");
    auto when = inserted && inserted->is_string() ? ParseIso8601(inserted->as_string()) : std::nullopt;
    if (!when) {
      out.error = "malformed response: backups[" + std::to_string(i) + "].inserted_at is not a timestamp";
      return out;
    }
    if (!out.newest || *when > *out.newest) out.newest = when;
  }
  return out;
}

class SupabaseBackups final : public Probe {
 public:
  SupabaseBackups(config::Duration max_age, std::optional<config::Duration> min_pitr_window)
      : max_age_(max_age), min_pitr_window_(min_pitr_window) {}

  boost::asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& target = static_cast<targets::SupabaseTarget&>(ctx.target);
    if (auto left = target.RetryIn(); left > Clock::duration::zero()) co_return ProbeResult::Fail(targets::SupabaseTarget::RateLimited(left));
    net::HttpRequestSpec request = target.ProjectRequest("/database/backups");
    request.body_limit = kBodyLimit;
    net::HttpResult response = co_await net::Fetch(ctx.executor, std::move(request));
    if (response.status == 429) {
      auto wait = targets::SupabaseTarget::RetryAfter(response);
      target.BackOffUntil(Clock::now() + wait);
      co_return ProbeResult::Fail(targets::SupabaseTarget::RateLimited(wait));
    }
    ProbeResult out = Judge(response);
    AppendHttpSamples(response, out.samples);
    co_return out;
  }

  void StaticSamples(std::vector<metrics::Sample>& out) const override {
    out.push_back(MaxAgeSample(max_age_));
    if (min_pitr_window_) {
      out.push_back(metrics::kSupabaseMinPitrWindowSeconds.Make(config::ToSeconds(*min_pitr_window_)));
    }
  }

 private:
  ProbeResult Judge(const net::HttpResult& response) const {
    if (!response.ok()) return ProbeResult::Fail(response.error);
    std::string status = std::to_string(response.status);
    if (response.status == 401 || response.status == 403) {
      return ProbeResult::Fail("unauthorized: check access_token (status " + status + ")");
    }
    if (response.status != 200) return ProbeResult::Fail("status " + status + ", expected 200");
    if (response.truncated) return ProbeResult::Fail("response larger than 4 MiB");
    Backups backups = ReadBackups(response.body);
    if (!backups.error.empty()) return ProbeResult::Fail(backups.error);
    // The age is taken against the response's Date when there is one, so a
    // skewed local clock does not matter.
    auto now = ParseHttpDate(response.Header("Date")).value_or(Clock::WallNow());
    ProbeResult out = backups.pitr_enabled.value_or(false) ? JudgePitr(backups, now) : JudgeDaily(backups, now);
    if (backups.pitr_enabled) {
      out.samples.push_back(metrics::kSupabasePitrEnabled.Make(*backups.pitr_enabled ? 1.0 : 0.0));
    }
    return out;
  }

  ProbeResult JudgeDaily(const Backups& backups, system_clock::time_point now) const {
    if (min_pitr_window_) {
      return ProbeResult::Fail("point-in-time recovery is not enabled, min_pitr_window " +
                               config::FormatDuration(*min_pitr_window_));
    }
    if (!backups.newest) {
      return ProbeResult::Fail(backups.walg_enabled
                                   ? "no completed backup (walg_enabled is true, but no backup is listed)"
                                   : "no completed backup");
    }
    return JudgeAge("newest completed backup", *backups.newest, now);
  }

  // With PITR the daily list may be empty: the newest restorable point is
  // what a restore can reach (a completed backup when it is newer).
  ProbeResult JudgePitr(const Backups& backups, system_clock::time_point now) const {
    if (!backups.latest_point) {
      if (backups.newest && !min_pitr_window_) return JudgeAge("newest completed backup", *backups.newest, now);
      return ProbeResult::Fail(
          "malformed response: pitr_enabled is true, but physical_backup_data has no "
          "latest_physical_backup_date_unix");
    }
    ProbeResult out = backups.newest && *backups.newest > *backups.latest_point
                          ? JudgeAge("newest completed backup", *backups.newest, now)
                          : JudgeAge("newest restorable point", *backups.latest_point, now);
    if (!backups.earliest_point) {
      if (min_pitr_window_ && out.success) {
        return ProbeResult::Fail(
            "malformed response: physical_backup_data has no earliest_physical_backup_date_unix, "
            "so the PITR window is unknown");
      }
      return out;
    }
    double window =
        std::max(0.0, std::chrono::duration<double>(*backups.latest_point - *backups.earliest_point).count());
    out.samples.push_back(metrics::kSupabasePitrWindowSeconds.Make(window));
    std::string text = "PITR window " + config::FormatAge(window);
    if (out.success && min_pitr_window_ && window < config::ToSeconds(*min_pitr_window_)) {
      ProbeResult failed = ProbeResult::Fail(text + ", min_pitr_window " + config::FormatDuration(*min_pitr_window_));
      failed.observed = out.observed;
      failed.samples = std::move(out.samples);
      return failed;
    }
    if (out.success) out.reason += ", " + text;
    return out;
  }

  ProbeResult JudgeAge(const std::string& what, system_clock::time_point newest,
                       system_clock::time_point now) const {
    double age = std::max(0.0, std::chrono::duration<double>(now - newest).count());
    std::string text = what + " is " + config::FormatAge(age) + " old";
    ProbeResult out = age <= config::ToSeconds(max_age_)
                          ? ProbeResult::Ok()
                          : ProbeResult::Fail(text + ", max_age " + config::FormatDuration(max_age_));
    if (out.success) out.reason = text;
    out.observed = age;
    out.samples.push_back(metrics::kDataAgeSeconds.Make(age));
    return out;
  }

  config::Duration max_age_;
  std::optional<config::Duration> min_pitr_window_;
};

}  // namespace

std::unique_ptr<Probe> ParseSupabaseBackups(config::NodeReader& check) {
  auto max_age = check.DurationValue("max_age", true);
  auto min_pitr_window = check.DurationValue("min_pitr_window");
  if (!max_age) return nullptr;
  return std::make_unique<SupabaseBackups>(*max_age, min_pitr_window);
}

}  // namespace drwatch::probes
