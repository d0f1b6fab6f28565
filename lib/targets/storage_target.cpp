#include "targets/storage_target.hpp"

#include <algorithm>
#include <array>

#include "common/redact.hpp"
#include "config/node_reader.hpp"
#include "storage/file_backend.hpp"
#include "targets/plain_http.hpp"

namespace drwatch::targets {
namespace {

constexpr std::array<std::string_view, 9> kS3Keys = {"endpoint",   "region",  "access_key_id", "secret_access_key",
                                                      "path_style", "ca_file", "sse",           "sse_kms_key_id",
                                                      "insecure"};

// Reports every s3-only key of a file:// target, at the key.
bool RejectS3Keys(config::NodeReader& node) {
  bool ok = true;
  for (std::string_view key : kS3Keys) {
    if (!node.Has(key)) continue;
    node.Consume(key);
    node.diag().Error(node.MarkOf(key), node.PathOf(key), "only for s3:// URLs, not file://");
    ok = false;
  }
  return ok;
}

bool ReadFileUrl(config::NodeReader& node, std::string_view url, StorageTargetSpec& spec) {
  std::string_view path = url.substr(std::string_view("file://").size());
  if (!path.starts_with('/')) {
    node.Error("url", "expected file:///absolute/path (the path must be absolute; a file URL has no host)");
    return false;
  }
  while (path.size() > 1 && path.ends_with('/')) path.remove_suffix(1);
  spec.path = std::string(path);
  return true;
}

bool IsRegion(std::string_view region) {
  return !region.empty() && std::all_of(region.begin(), region.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool HasHttpHost(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.starts_with(scheme)) {
      std::string_view host = url.substr(scheme.size());
      return !host.empty() && host.front() != '/' && host.find_first_of("?#@") == std::string_view::npos;
    }
  }
  return false;
}

// Reads the optional string `key` into `out`; false after an error.
bool OptionalString(config::NodeReader& node, std::string_view key, std::string& out) {
  if (!node.Has(key)) return true;
  auto value = node.String(key);
  if (value) out = *value;
  return value.has_value();
}

// Loads the CAs now (load time, off the loop) for an https endpoint or AWS itself.
bool MakeTls(config::NodeReader& node, StorageTargetSpec& spec) {
  const storage::S3Config& c = spec.s3_config;
  if (c.endpoint.starts_with("http://")) return true;
  if (c.ca_file.empty()) {
    spec.tls = net::TlsClientConfig::Default();
    return true;
  }
  std::string error;
  spec.tls = net::TlsClientConfig::Make(c.ca_file, false, error);
  if (!spec.tls) node.Error("ca_file", error);
  return spec.tls != nullptr;
}

// sse: AES256 | aws:kms, sse_kms_key_id (aws:kms only).
bool ReadSse(config::NodeReader& node, storage::S3Config& c) {
  bool ok = OptionalString(node, "sse", c.sse);
  if (ok && node.Has("sse") && c.sse != "AES256" && c.sse != "aws:kms") {
    node.Error("sse", "expected AES256 or aws:kms");
    ok = false;
  }
  if (!OptionalString(node, "sse_kms_key_id", c.sse_kms_key_id)) return false;
  if (node.Has("sse_kms_key_id") && c.sse != "aws:kms") {
    node.Error("sse_kms_key_id", "only with sse: aws:kms");
    return false;
  }
  return ok;
}

bool ReadS3(config::NodeReader& node, std::string_view url, StorageTargetSpec& spec) {
  storage::S3Config& c = spec.s3_config;
  std::string_view rest = url.substr(std::string_view("s3://").size());
  c.bucket = std::string(rest.substr(0, rest.find('/')));
  std::string_view prefix = rest.find('/') == std::string_view::npos ? "" : rest.substr(rest.find('/') + 1);
  while (prefix.starts_with('/')) prefix.remove_prefix(1);
  while (prefix.ends_with('/')) prefix.remove_suffix(1);
  c.prefix = std::string(prefix);
  bool ok = true;
  if (auto error = storage::ValidateBucketName(c.bucket); !error.empty()) {
    node.Error("url", error);
    ok = false;
  }
  if (!OptionalString(node, "endpoint", c.endpoint)) {
    ok = false;
  } else if (!c.endpoint.empty() && !HasHttpHost(c.endpoint)) {
    node.Error("endpoint", "expected a URL starting with http:// or https:// and a host");
    ok = false;
  } else if (std::string error; !c.endpoint.empty() && !net::ParseUrl(c.endpoint, error)) {
    node.Error("endpoint", "invalid URL: " + error);
    ok = false;
  }
  if (!OptionalString(node, "region", c.region)) {
    ok = false;
  } else if (!IsRegion(c.region)) {
    node.Error("region", "invalid region \"" + c.region + "\" (use e.g. us-east-1)");
    ok = false;
  }
  auto key_id = node.String("access_key_id", true);
  auto secret = node.String("secret_access_key", true);
  if (secret) Redactor::Global().Add(*secret);  // a secret even when written literally
  ok = key_id.has_value() && secret.has_value() && ok;
  c.access_key_id = key_id.value_or("");
  c.secret_access_key = secret.value_or("");
  c.path_style = !c.endpoint.empty();
  if (node.Has("path_style")) {
    auto path_style = node.Bool("path_style");
    ok = path_style.has_value() && ok;
    c.path_style = path_style.value_or(c.path_style);
  }
  ok = OptionalString(node, "ca_file", c.ca_file) && ok;
  ok = ReadSse(node, c) && ok;
  if (ok && !c.endpoint.empty()) {
    std::string error;
    if (auto endpoint = net::ParseUrl(c.endpoint, error)) {
      ok = AllowsCredentialsOver(node, "endpoint", *endpoint, "requests signed with the S3 keys (and the backups)");
    }
  } else {
    bool insecure = false;
    ok = ReadInsecure(node, insecure) && ok;
  }
  return ok && MakeTls(node, spec);
}

}  // namespace

std::shared_ptr<TargetSpec> ParseStorageTarget(config::NodeReader& node) {
  auto url = node.PublicString("url", true);
  if (!url) {
    for (std::string_view key : kS3Keys) node.Consume(key);  // unknowable which scheme they are for
    return nullptr;
  }
  auto spec = std::make_shared<StorageTargetSpec>();
  spec->url = *url;
  bool ok = false;
  if (url->starts_with("file://")) {
    ok = ReadFileUrl(node, *url, *spec);
    ok = RejectS3Keys(node) && ok;
  } else if (url->starts_with("s3://")) {
    spec->s3 = true;
    ok = ReadS3(node, *url, *spec);
  } else {
    node.Error("url", "expected a URL starting with file:// or s3://");
    for (std::string_view key : kS3Keys) node.Consume(key);
  }
  if (!ok) return nullptr;
  return spec;
}

std::shared_ptr<TargetRuntime> StorageTargetSpec::MakeRuntime(boost::asio::any_io_executor executor,
                                                              BlockingPool& pool) const {
  std::shared_ptr<storage::Backend> backend;
  if (s3) {
    backend = std::make_shared<storage::S3Backend>(s3_config, tls, executor, pool);
  } else {
    backend = std::make_shared<storage::FileBackend>(pool, path);
  }
  return std::make_shared<StorageTarget>(std::move(backend));
}

}  // namespace drwatch::targets
