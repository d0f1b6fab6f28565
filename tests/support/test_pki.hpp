#pragma once
// A throwaway PKI for TLS tests, made with OpenSSL's APIs: a self-signed CA
// a server and a client certificate it signed, written as PEM files to a fresh
// directory that the destructor removes.

#include <chrono>
#include <string>
#include <vector>

namespace drwatch::test {

class TestPki {
 public:
  /// `names` become the leaf's subjectAltName entries: IP addresses as IP,
  /// the rest as DNS names. The leaf is valid for `leaf_days` days.
  explicit TestPki(std::vector<std::string> names = {"localhost", "127.0.0.1"}, int leaf_days = 30);
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& ca_file() const { return ca_file_; }      // the CA certificate (PEM)
  const std::string& cert_file() const { return cert_file_; }  // the leaf certificate (PEM)
  const std::string& key_file() const { return key_file_; }    // the leaf's private key (PEM)
  /// A client certificate the CA signed (extendedKeyUsage clientAuth), and its key.
  const std::string& client_cert_file() const { return client_cert_file_; }
  const std::string& client_key_file() const { return client_key_file_; }
  /// The leaf's notAfter, to the second.
  std::chrono::system_clock::time_point leaf_not_after() const { return not_after_; }

 private:
  std::string dir_, ca_file_, cert_file_, key_file_, client_cert_file_, client_key_file_;
  std::chrono::system_clock::time_point not_after_;
};

}  // namespace drwatch::test
