#include "support/test_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace drwatch::test {
namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

[[noreturn]] void Fail(const std::string& what) { throw std::runtime_error("test pki: " + what); }

Key NewKey() {
  Key key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!key) Fail("EVP_EC_gen");
  return key;
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) Fail("extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

Cert NewCert(const std::string& cn, EVP_PKEY* key, long serial, int days) {
  Cert cert(X509_new(), &X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                             -1, 0);
  return cert;
}

void WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) Fail("cannot write " + path);
  bool ok = cert ? PEM_write_X509(f, cert) == 1 : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  if (!ok) Fail("PEM write " + path);
  if (key) std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

std::string SubjectAltNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(n, ec);
    out += (out.empty() ? "" : ",") + std::string(ec ? "DNS:" : "IP:") + n;
  }
  return out;
}

}  // namespace

TestPki::TestPki(std::vector<std::string> names, int leaf_days) {
  std::string pattern = (std::filesystem::temp_directory_path() / "drwatch-pki-XXXXXX").string();
  if (!mkdtemp(pattern.data())) Fail("mkdtemp");
  dir_ = pattern;
  ca_file_ = dir_ + "/ca.pem";
  cert_file_ = dir_ + "/server.pem";
  key_file_ = dir_ + "/server.key";

  Key ca_key = NewKey();
  Cert ca = NewCert("drwatch test CA", ca_key.get(), 1, 365);
  X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get()));
  AddExtension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0) Fail("sign CA");

  Key leaf_key = NewKey();
  Cert leaf = NewCert(names.empty() ? "server" : names.front(), leaf_key.get(), 2, leaf_days);
  X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca.get()));
  AddExtension(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  AddExtension(leaf.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (!names.empty()) AddExtension(leaf.get(), ca.get(), NID_subject_alt_name, SubjectAltNames(names));
  if (X509_sign(leaf.get(), ca_key.get(), EVP_sha256()) == 0) Fail("sign leaf");

  std::tm tm{};
  ASN1_TIME_to_tm(X509_get0_notAfter(leaf.get()), &tm);
  not_after_ = std::chrono::system_clock::from_time_t(timegm(&tm));

  Key client_key = NewKey();
  Cert client = NewCert("drwatch test client", client_key.get(), 3, leaf_days);
  X509_set_issuer_name(client.get(), X509_get_subject_name(ca.get()));
  AddExtension(client.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(client.get(), ca.get(), NID_ext_key_usage, "clientAuth");
  AddExtension(client.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (X509_sign(client.get(), ca_key.get(), EVP_sha256()) == 0) Fail("sign client");
  client_cert_file_ = dir_ + "/client.pem";
  client_key_file_ = dir_ + "/client.key";
  WritePem(client_cert_file_, client.get(), nullptr);
  WritePem(client_key_file_, nullptr, client_key.get());

  WritePem(ca_file_, ca.get(), nullptr);
  WritePem(cert_file_, leaf.get(), nullptr);
  WritePem(key_file_, nullptr, leaf_key.get());
}

TestPki::~TestPki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace drwatch::test
