#include "config/web_config.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/bind_executor.hpp>
#include <chrono>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "config/expand.hpp"
#include "config/node_reader.hpp"

namespace drwatch::config {
namespace {

using net::ClientAuth;
using net::TlsVersion;

constexpr std::array<std::pair<std::string_view, ClientAuth>, 5> kClientAuth = {{
    {"NoClientCert", ClientAuth::kNoClientCert},
    {"RequestClientCert", ClientAuth::kRequestClientCert},
    {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
}};

// exporter-toolkit's list: headers that harden a browser's view of the page.
constexpr std::array<std::string_view, 5> kAllowedHeaders = {
    "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options",
    "X-XSS-Protection", "Content-Security-Policy"};

std::optional<TlsVersion> ParseVersion(NodeReader& r, std::string_view key) {
  auto text = r.PublicString(key);
  if (!text) return std::nullopt;
  if (*text == "TLS12") return TlsVersion::kTls12;
  if (*text == "TLS13") return TlsVersion::kTls13;
  r.Error(key, "unsupported TLS version \"" + *text + "\" (use TLS12 or TLS13)");
  return std::nullopt;
}

// A file the daemon must read: refused now rather than at the first connection.
// A relative path is relative to the web config file, as in exporter-toolkit.
std::optional<std::string> ReadableFile(NodeReader& r, std::string_view key, bool required, bool secret = false) {
  auto path = r.PublicString(key, required);
  if (!path) return std::nullopt;
  if (path->empty()) {
    r.Error(key, "must not be empty");
    return std::nullopt;
  }
  std::filesystem::path p(*path);
  if (p.is_relative()) *path = (std::filesystem::path(r.diag().file).parent_path() / p).string();
  if (::access(path->c_str(), R_OK) != 0) {
    r.Error(key, "cannot read \"" + *path + "\": " + std::strerror(errno));
    return std::nullopt;
  }
  std::string reason;
  if (secret && !ReadSecretFile(*path, reason)) {
    r.Error(key, reason);
    return std::nullopt;
  }
  return path;
}

bool ClientAuthNeedsCa(ClientAuth a) {
  return a == ClientAuth::kVerifyClientCertIfGiven || a == ClientAuth::kRequireAndVerifyClientCert;
}

std::optional<net::TlsServerConfig> ParseTls(NodeReader& r) {
  net::TlsServerConfig tls;
  bool ok = true;
  auto cert = ReadableFile(r, "cert_file", true);
  auto key = ReadableFile(r, "key_file", true, /*secret=*/true);
  ok = cert && key;
  if (cert) tls.cert_file = *cert;
  if (key) tls.key_file = *key;
  if (auto type = r.PublicString("client_auth_type")) {
    auto it = std::find_if(kClientAuth.begin(), kClientAuth.end(),
                           [&](const auto& e) { return e.first == *type; });
    if (it == kClientAuth.end()) {
      r.Error("client_auth_type",
              "unknown client_auth_type \"" + *type +
                  "\" (use NoClientCert, RequestClientCert, RequireAnyClientCert, "
                  "VerifyClientCertIfGiven or RequireAndVerifyClientCert)");
      ok = false;
    } else {
      tls.client_auth = it->second;
    }
  }
  if (r.Has("client_ca_file")) {
    auto ca = ReadableFile(r, "client_ca_file", false);
    if (ca) tls.client_ca_file = *ca;
    ok = ok && ca;
  } else if (ClientAuthNeedsCa(tls.client_auth)) {
    r.Error("client_auth_type", "client_ca_file is required to verify client certificates");
    ok = false;
  }
  bool min_given = r.Has("min_version");
  if (auto v = ParseVersion(r, "min_version")) tls.min_version = *v;
  else ok = ok && !min_given;
  bool max_given = r.Has("max_version");
  tls.max_version = ParseVersion(r, "max_version");
  if (max_given && !tls.max_version) ok = false;
  if (tls.max_version && *tls.max_version < tls.min_version) {
    r.Error("max_version", "max_version is older than min_version");
    ok = false;
  }
  for (std::string_view unsupported : {"cipher_suites", "curve_preferences"}) {
    if (!r.Has(unsupported)) continue;
    r.Consume(unsupported);
    r.Error(unsupported, "not supported by drwatchd (OpenSSL's defaults apply); remove it");
    ok = false;
  }
  r.Finish();
  if (!ok) return std::nullopt;
  return tls;
}

bool IsBcrypt(std::string_view hash) {
  return hash.size() == 60 &&
         (hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$")) &&
         hash[6] == '$';
}

void ParseUsers(NodeReader& r, net::WebConfig& out) {
  for (const std::string& user : r.Keys()) {
    if (user.empty() || user.find(':') != std::string::npos) {
      r.Error(user, "a user name must be non-empty and contain no ':'");
      continue;
    }
    auto hash = r.String(user);
    if (!hash) continue;
    if (!IsBcrypt(*hash)) {
      r.Error(user, "expected a bcrypt hash ($2y$…, $2b$… or $2a$…, 60 characters)");
      continue;
    }
    out.basic_auth_users.emplace(user, *hash);
  }
}

void ParseHttpServer(NodeReader& r, net::WebConfig& out) {
  if (auto headers = r.Map("headers")) {
    for (const std::string& name : headers->Keys()) {
      auto allowed = std::find(kAllowedHeaders.begin(), kAllowedHeaders.end(), name);
      if (allowed == kAllowedHeaders.end()) {
        headers->Error(name,
                       "header not allowed (use Strict-Transport-Security, X-Content-Type-Options, "
                       "X-Frame-Options, X-XSS-Protection or Content-Security-Policy)");
        continue;
      }
      if (auto value = headers->PublicString(name)) out.headers.emplace_back(name, *value);
    }
  }
  r.Finish();
}

std::optional<YAML::Node> ParseDocument(const std::string& text, Diagnostics& diag) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    diag.Error(e.mark, "", "invalid YAML: " + e.msg);
    return std::nullopt;
  }
  // An empty file is a valid (empty) web config, as in exporter-toolkit.
  if (root.IsNull()) return YAML::Node(YAML::NodeType::Map);
  return root;
}

}  // namespace

WebConfigLoad LoadWebConfigText(const std::string& text, const std::string& file) {
  Diagnostics diag;
  diag.file = file;
  net::WebConfig out;
  YAML::Mark tls_mark;
  if (auto root = ParseDocument(text, diag)) {
    // Only a mapping has keys: operator[] on a scalar throws (web_config_fuzz
    // found "foo" as a whole file killing the daemon); NodeReader reports it.
    if (root->IsMap() && (*root)["tls_server_config"]) tls_mark = (*root)["tls_server_config"].Mark();
    NodeReader r(*root, "", diag);
    if (auto tls = r.Map("tls_server_config")) out.tls = ParseTls(*tls);
    if (auto users = r.Map("basic_auth_users")) {
      ParseUsers(*users, out);
      users->Finish();
    }
    if (auto http = r.Map("http_server_config")) ParseHttpServer(*http, out);
    r.Finish();
  }
  std::shared_ptr<const net::WebSecurity> security;
  if (diag.ok()) {
    std::string error;
    security = net::WebSecurity::Make(out, error);
    if (!security) diag.Error(tls_mark, "", error);
  }
  diag.Redact();
  diag.SortByPosition();
  if (!diag.ok()) return WebConfigLoad{std::nullopt, nullptr, std::move(diag.errors)};
  return WebConfigLoad{std::move(out), std::move(security), {}};
}

WebConfigLoad LoadWebConfigFile(const std::string& path) {
  std::string reason;
  auto text = ReadWholeFile(path, reason);
  if (!text) return WebConfigLoad{std::nullopt, nullptr, {path + ": cannot read: " + reason}};
  return LoadWebConfigText(*text, path);
}

}  // namespace drwatch::config

namespace drwatch::config {
namespace {

constexpr std::chrono::seconds kCheckInterval{1};

// What tells a file changed: a rename onto it changes the inode, an edit in
// place the time or size. A missing file is all zeros.
struct FileStamp {
  std::int64_t mtime_ns = 0;
  std::int64_t size = 0;
  std::uint64_t inode = 0;
  bool operator==(const FileStamp&) const = default;
};

std::vector<FileStamp> StampFiles(const std::vector<std::string>& paths) {
  std::vector<FileStamp> out;
  for (const auto& path : paths) {
    struct stat st {};
    FileStamp stamp;
    if (::stat(path.c_str(), &st) == 0) {
      stamp = {static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
               static_cast<std::int64_t>(st.st_size), static_cast<std::uint64_t>(st.st_ino)};
    }
    out.push_back(stamp);
  }
  return out;
}

// The config file first, then the files it names.
std::vector<std::string> WatchedFiles(const std::string& path, const WebConfigLoad& load) {
  std::vector<std::string> files{path};
  if (load.config && load.config->tls) {
    const net::TlsServerConfig& tls = *load.config->tls;
    for (const std::string* f : {&tls.cert_file, &tls.key_file, &tls.client_ca_file}) {
      if (!f->empty()) files.push_back(*f);
    }
  }
  return files;
}

// A load off the loop: the stamps come first, so a change during the load
// is seen at the next check.
struct Snapshot {
  std::vector<std::string> files;
  std::vector<FileStamp> stamps;
  std::optional<WebConfigLoad> load;  // unset: nothing changed
};

}  // namespace

struct WebConfigWatcher::State : std::enable_shared_from_this<State> {
  State(boost::asio::any_io_executor ex, BlockingPool& p, std::string f)
      : executor(std::move(ex)), pool(p), path(std::move(f)) {}
  void Check();
  void Apply(Snapshot snapshot);

  boost::asio::any_io_executor executor;
  BlockingPool& pool;
  std::string path;
  std::vector<std::string> files;
  std::vector<FileStamp> stamps;
  std::shared_ptr<const net::WebSecurity> current;
  std::chrono::steady_clock::time_point last_check = std::chrono::steady_clock::now();
  bool checking = false;
};

void WebConfigWatcher::State::Check() {
  checking = true;
  last_check = std::chrono::steady_clock::now();
  auto work = [path = path, files = files, stamps = stamps] {
    Snapshot snap{files, StampFiles(files), std::nullopt};
    if (snap.stamps == stamps) return snap;
    std::vector<FileStamp> before = StampFiles({path});
    snap.load = LoadWebConfigFile(path);
    snap.files = WatchedFiles(path, *snap.load);
    snap.stamps = StampFiles(snap.files);
    snap.stamps[0] = before[0];
    return snap;
  };
  auto done = [self = shared_from_this()](std::optional<Snapshot> snap) {
    self->checking = false;
    if (snap) self->Apply(std::move(*snap));
  };
  RunBlocking(pool, std::move(work), [](Snapshot) {}, boost::asio::bind_executor(executor, std::move(done)));
}

void WebConfigWatcher::State::Apply(Snapshot snap) {
  if (!snap.load) return;
  // Remembered even when invalid: the error is logged once per change.
  files = std::move(snap.files);
  stamps = std::move(snap.stamps);
  if (!snap.load->errors.empty()) {
    for (const auto& e : snap.load->errors) spdlog::error("{}", e);
    spdlog::error("web config reload refused: {} error(s) in {}; still serving the previous one",
                  snap.load->errors.size(), path);
    return;
  }
  current = std::move(snap.load->security);
  spdlog::info("reloaded web config {}", path);
}

std::unique_ptr<WebConfigWatcher> WebConfigWatcher::Create(boost::asio::any_io_executor executor,
                                                           BlockingPool& pool, std::string path,
                                                           std::vector<std::string>& errors) {
  auto state = std::make_shared<State>(std::move(executor), pool, std::move(path));
  std::vector<FileStamp> before = StampFiles({state->path});
  WebConfigLoad load = LoadWebConfigFile(state->path);
  if (!load.errors.empty()) {
    errors = std::move(load.errors);
    return nullptr;
  }
  state->files = WatchedFiles(state->path, load);
  state->stamps = StampFiles(state->files);
  state->stamps[0] = before[0];
  state->current = std::move(load.security);
  return std::unique_ptr<WebConfigWatcher>(new WebConfigWatcher(std::move(state)));
}

WebConfigWatcher::WebConfigWatcher(std::shared_ptr<State> state) : state_(std::move(state)) {}
WebConfigWatcher::~WebConfigWatcher() = default;

std::shared_ptr<const net::WebSecurity> WebConfigWatcher::Current() {
  if (!state_->checking && std::chrono::steady_clock::now() - state_->last_check >= kCheckInterval) {
    state_->Check();
  }
  return state_->current;
}

}  // namespace drwatch::config
