#include "support/fake_management_api.hpp"

namespace drwatch::test {
namespace {

const ServerHeaders kJson{{"Content-Type", "application/json"}};

// Cut down from the real answers' shapes; every secret-valued field is set.
constexpr char kAuth[] = R"({
  "site_url": "https://cms.example.com",
  "uri_allow_list": "https://cms.example.com/**",
  "jwt_exp": 3600,
  "disable_signup": false,
  "mailer_autoconfirm": false,
  "password_min_length": 12,
  "smtp_admin_email": "noreply@example.com",
  "smtp_host": "smtp.sendgrid.net",
  "smtp_port": "587",
  "smtp_user": "apikey",
  "smtp_pass": "SG.fake-smtp-pass-0451",
  "external_github_enabled": true,
  "external_github_client_id": "Iv1.0123456789abcdef",
  "external_github_secret": "fake-github-oauth-secret-7af3",
  "sms_provider": "twilio",
  "sms_twilio_account_sid": "AC0123456789",
  "sms_twilio_auth_token": "fake-twilio-token-99e1",
  "hook_custom_access_token_enabled": true,
  "hook_custom_access_token_uri": "pg-functions://postgres/public/custom_access_token_hook",
  "hook_send_email_secrets": "v1,whsec_ZmFrZS1ob29rLXNlY3JldA==",
  "refresh_token_rotation_enabled": true,
  "security_captcha_secret": "fake-captcha-secret-3c1d"
})";

constexpr char kPostgrest[] = R"({
  "db_schema": "public,storage,graphql_public",
  "db_extra_search_path": "public,extensions",
  "max_rows": 1000,
  "db_pool": null,
  "jwt_secret": "fake-legacy-jwt-secret-at-least-32-characters-long"
})";

constexpr char kPostgres[] = R"({
  "statement_timeout": "8s",
  "max_connections": 60,
  "work_mem": "4MB",
  "session_replication_role": "origin"
})";

constexpr char kPooler[] = R"([{
  "database_type": "PRIMARY",
  "db_port": 6543,
  "default_pool_size": 15,
  "max_client_conn": 200,
  "pool_mode": "transaction",
  "connection_string": "postgresql://postgres.abcdefghijklmnopqrst:fake-db-password-5e6f@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
}])";

constexpr char kNetwork[] = R"({
  "entitlement": "allowed",
  "config": {"dbAllowedCidrs": ["203.0.113.0/24"], "dbAllowedCidrsV6": []},
  "status": "applied"
})";

constexpr char kSsl[] = R"({"currentConfig": {"database": true}, "appliedSuccessfully": true})";

constexpr char kFunctions[] = R"([
  {"id": "8d3f0f4e-1a7b-4c1e-9d7e-1f2a3b4c5d6e", "slug": "send-digest", "name": "send-digest", "status": "ACTIVE",
   "version": 7, "created_at": 1730000000000, "updated_at": 1733000000000, "verify_jwt": true,
   "import_map": false, "entrypoint_path": "file:///src/index.ts"},
  {"id": "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e", "slug": "stripe-webhook", "name": "stripe-webhook",
   "status": "ACTIVE", "version": 3, "created_at": 1731000000000, "updated_at": 1732000000000,
   "verify_jwt": false, "import_map": true, "entrypoint_path": "file:///src/index.ts"}
])";

constexpr char kSecrets[] = R"([
  {"name": "STRIPE_WEBHOOK_SECRET", "value": "whsec_fake_stripe_4d2a"},
  {"name": "OPENAI_API_KEY", "value": "sk-proj-fake-openai-81bb"},
  {"name": "SUPABASE_SERVICE_ROLE_KEY", "value": "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.ZmFrZQ"}
])";

// A function body is the deployed bundle: bytes, not JSON.
std::string FunctionBody(const std::string& slug) {
  std::string body = "// bundle of " + slug +
                     "\nimport { serve } from 'https://deno.land/std/http/server.ts';\n"
                     "serve(() => new Response('ok'));\n";
  body.append(std::string_view("\0\1\2\xff binary tail\n", 17));
  return body;
}

}  // namespace

const std::vector<std::string>& FakeManagementApi::SecretValues() {
  static const std::vector<std::string> values = {
      "SG.fake-smtp-pass-0451", "fake-github-oauth-secret-7af3", "fake-twilio-token-99e1",
      "ZmFrZS1ob29rLXNlY3JldA", "fake-captcha-secret-3c1d", "fake-legacy-jwt-secret-at-least-32-characters-long",
      "fake-db-password-5e6f", "whsec_fake_stripe_4d2a", "sk-proj-fake-openai-81bb",
      "eyJhbGciOiJIUzI1NiJ9", kToken};
  return values;
}

FakeManagementApi::FakeManagementApi() {
  answers_["/config/auth"] = {200, kJson, kAuth};
  answers_["/postgrest"] = {200, kJson, kPostgrest};
  answers_["/config/database/postgres"] = {200, kJson, kPostgres};
  answers_["/config/database/pooler"] = {200, kJson, kPooler};
  answers_["/network-restrictions"] = {200, kJson, kNetwork};
  answers_["/ssl-enforcement"] = {200, kJson, kSsl};
  answers_["/functions"] = {200, kJson, kFunctions};
  answers_["/secrets"] = {200, kJson, kSecrets};
  for (const char* slug : {"send-digest", "stripe-webhook"}) {
    std::string body = FunctionBody(slug);
    answers_[std::string("/functions/") + slug + "/body"] = {200, {{"Content-Type", "application/octet-stream"}}, body};
  }
  server_.SetHandler([this](const RecordedRequest& request) { return Handle(request); });
}

void FakeManagementApi::Answer(const std::string& path, ScriptedResponse response) {
  std::lock_guard lock(mu_);
  answers_[path] = std::move(response);
}

void FakeManagementApi::AnswerOnce(const std::string& path, ScriptedResponse response) {
  std::lock_guard lock(mu_);
  once_[path].push_back(std::move(response));
}

std::string FakeManagementApi::Body(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = answers_.find(path);
  return it == answers_.end() ? "" : it->second.body;
}

int FakeManagementApi::Calls(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(path);
  return it == calls_.end() ? 0 : it->second;
}

ScriptedResponse FakeManagementApi::Handle(const RecordedRequest& request) {
  if (request.Header("Authorization") != std::string("Bearer ") + kToken) {
    return {401, kJson, R"({"message":"Unauthorized"})"};
  }
  const std::string prefix = std::string("/v1/projects/") + kRef;
  if (request.method != "GET" || !request.target.starts_with(prefix)) return {404, kJson, R"({"message":"Not Found"})"};
  std::string path = request.target.substr(prefix.size());
  std::lock_guard lock(mu_);
  ++calls_[path];
  if (auto& queued = once_[path]; !queued.empty()) {
    ScriptedResponse next = std::move(queued.front());
    queued.pop_front();
    return next;
  }
  auto it = answers_.find(path);
  if (it == answers_.end()) return {404, kJson, R"({"message":"Not Found"})"};
  return it->second;
}

}  // namespace drwatch::test
