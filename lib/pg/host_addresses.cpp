#include "pg/host_addresses.hpp"

#include <libpq-fe.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "pg/quote.hpp"

namespace drwatch::pg {
namespace {

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  for (;;) {
    std::size_t comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out;
}


// Unix-domain socket directories (and abstract sockets) need no look-up.
bool IsSocketHost(const std::string& host) { return host.empty() || host[0] == '/' || host[0] == '@'; }

// The numeric addresses of `host`, in getaddrinfo's order (the order libpq
// would try them in); empty with `error` set when it does not resolve.
std::vector<std::string> Resolve(const std::string& host, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  std::vector<std::string> out;
  if (rc != 0) {
    error = "could not translate host name \"" + host + "\" to address: " + ::gai_strerror(rc);
    return out;
  }
  for (addrinfo* a = list; a; a = a->ai_next) {
    char text[NI_MAXHOST];
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) == 0 &&
        std::find(out.begin(), out.end(), text) == out.end()) {
      out.emplace_back(text);
    }
  }
  ::freeaddrinfo(list);
  return out;
}

}  // namespace

std::string PinHostAddresses(const std::string& conninfo, std::string& error) {
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(conninfo.c_str(), nullptr), &PQconninfoFree);
  if (!options) return conninfo;  // PQconnectStart reports the syntax error
  std::map<std::string, std::string> values;
  std::vector<std::string> order;
  for (auto* o = options.get(); o->keyword; ++o) {
    if (!o->val) continue;
    values[o->keyword] = o->val;
    order.emplace_back(o->keyword);
  }
  if (!values.contains("host") || values.contains("hostaddr")) return conninfo;
  std::vector<std::string> hosts = SplitList(values["host"]);
  if (hosts.size() < 2 || std::all_of(hosts.begin(), hosts.end(), IsSocketHost)) return conninfo;
  std::vector<std::string> ports = values.contains("port") ? SplitList(values["port"]) : std::vector<std::string>{};
  if (ports.size() > 1 && ports.size() != hosts.size()) return conninfo;  // libpq's error to give

  std::vector<std::string> new_hosts, new_addrs, new_ports;
  std::string first_error;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    std::string port = ports.empty() ? "" : ports[ports.size() == 1 ? 0 : i];
    std::vector<std::string> addrs{""};
    if (!IsSocketHost(hosts[i])) {
      std::string failure;
      addrs = Resolve(hosts[i], failure);
      if (addrs.empty() && first_error.empty()) first_error = failure;
    }
    for (const auto& a : addrs) {
      new_hosts.push_back(hosts[i]);
      new_addrs.push_back(a);
      new_ports.push_back(port);
    }
  }
  if (new_hosts.empty()) {
    error = first_error;
    return "";
  }
  values["host"] = Join(new_hosts);
  values["hostaddr"] = Join(new_addrs);
  if (!ports.empty()) values["port"] = Join(new_ports);
  order.emplace_back("hostaddr");
  std::string out;
  for (const auto& key : order) {
    if (!values.contains(key)) continue;
    out += (out.empty() ? "" : " ") + key + "=" + QuoteConninfoValue(values[key]);
    values.erase(key);
  }
  return out;
}

}  // namespace drwatch::pg
