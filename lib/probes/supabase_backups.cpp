// supabase.backups: GET {api_url}/v1/projects/{ref}/database/backups (the
// Management API) and the age of the newest backup whose status is
// COMPLETED. A project with walg_enabled but an empty list has no backup to
// restore from: that fails. A 429 starts a Retry-After window on the target
// during which runs fail at once without calling the API (it allows about
// 60 requests a minute per token).

#include <boost/json.hpp>
#include <charconv>
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
constexpr std::chrono::seconds kDefaultRetryAfter{60};
constexpr std::chrono::seconds kMaxRetryAfter{3600};

// Retry-After in seconds or as an HTTP date; 60 s when absent or unreadable.
std::chrono::seconds RetryAfter(const net::HttpResult& response) {
  std::string_view text = response.Header("Retry-After");
  long long seconds = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  std::chrono::seconds wait = kDefaultRetryAfter;
  if (!text.empty() && ec == std::errc() && ptr == text.data() + text.size() && seconds >= 0) {
    wait = std::chrono::seconds(seconds);
  } else if (auto when = ParseHttpDate(text)) {
    wait = std::chrono::ceil<std::chrono::seconds>(*when - system_clock::now());
  }
  return std::clamp(wait, std::chrono::seconds(1), kMaxRetryAfter);
}

std::string RateLimited(Clock::duration left) {
  return "rate limited, retry in " + std::to_string(std::chrono::ceil<std::chrono::seconds>(left).count()) + "s";
}

struct Backups {
  std::optional<system_clock::time_point> newest;  // of the COMPLETED ones
  std::optional<bool> pitr_enabled;
  bool walg_enabled = false;
  std::string error;
};

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
  explicit SupabaseBackups(config::Duration max_age) : max_age_(max_age) {}

  boost::asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& target = static_cast<targets::SupabaseTarget&>(ctx.target);
    if (auto left = target.RetryIn(); left > Clock::duration::zero()) co_return ProbeResult::Fail(RateLimited(left));
    net::HttpRequestSpec request = target.ProjectRequest("/database/backups");
    request.body_limit = kBodyLimit;
    net::HttpResult response = co_await net::Fetch(ctx.executor, std::move(request));
    if (response.status == 429) {
      auto wait = RetryAfter(response);
      target.BackOffUntil(Clock::now() + wait);
      co_return ProbeResult::Fail(RateLimited(wait));
    }
    ProbeResult out = Judge(response);
    AppendHttpSamples(response, out.samples);
    co_return out;
  }

  void StaticSamples(std::vector<metrics::Sample>& out) const override {
    out.push_back(MaxAgeSample(max_age_));
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
    ProbeResult out = Judge(backups, response);
    if (backups.pitr_enabled) {
      out.samples.push_back(metrics::kSupabasePitrEnabled.Make(*backups.pitr_enabled ? 1.0 : 0.0));
    }
    return out;
  }

  // The age is taken against the response's Date when there is one, so a
  // skewed local clock does not matter.
  ProbeResult Judge(const Backups& backups, const net::HttpResult& response) const {
    if (!backups.newest) {
      return ProbeResult::Fail(backups.walg_enabled
                                   ? "no completed backup (walg_enabled is true, but no backup is listed)"
                                   : "no completed backup");
    }
    auto now = ParseHttpDate(response.Header("Date")).value_or(Clock::WallNow());
    double age = std::max(0.0, std::chrono::duration<double>(now - *backups.newest).count());
    std::string text = "newest completed backup is " + config::FormatAge(age) + " old";
    ProbeResult out = age <= config::ToSeconds(max_age_)
                          ? ProbeResult::Ok()
                          : ProbeResult::Fail(text + ", max_age " + config::FormatDuration(max_age_));
    if (out.success) out.reason = text;
    out.observed = age;
    out.samples.push_back(metrics::kDataAgeSeconds.Make(age));
    return out;
  }

  config::Duration max_age_;
};

}  // namespace

std::unique_ptr<Probe> ParseSupabaseBackups(config::NodeReader& check) {
  auto max_age = check.DurationValue("max_age", true);
  if (!max_age) return nullptr;
  return std::make_unique<SupabaseBackups>(*max_age);
}

}  // namespace drwatch::probes
