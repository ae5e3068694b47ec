// Command proxyfromenv is the Go side of pulldoctor's differential test (tests/proxyenv.rs).
//
// It reads one JSON object per line on stdin:
//
//	{"env": {"HTTPS_PROXY": "proxy:3128", "NO_PROXY": ".internal"}, "url": "https://registry.internal/v2/"}
//
// and for each case replaces the whole process environment with "env", builds the proxy
// function with httpproxy.FromEnvironment().ProxyFunc() (exactly what net/http's
// ProxyFromEnvironment does, minus its once-per-process cache), parses "url" with url.Parse and
// writes one JSON object per line on stdout:
//
//	{"proxy": "http://proxy:3128", "has_proxy": true}   a proxy URL, printed with URL.String()
//	{}                                                  no proxy
//	{"err": "refusing to use HTTP_PROXY value ..."}     the proxy function's error
//	{"urlerr": "parse \"http://[::1\": missing ']' in host"}   url.Parse rejected the request URL
//
// Before the cases it writes one header line describing the toolchain: the Go version and a
// probe for each behaviour that differs between Go / x/net versions (see GoSemantics in
// src/proxyenv.rs), so the Rust side can compare against the semantics actually under test.
//
// Standard library plus golang.org/x/net/http/httpproxy only. Build it in GOPATH mode against
// Debian's golang-golang-x-net-dev (/usr/share/gocode) or against a copy of GOROOT/src/vendor.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"

	"golang.org/x/net/http/httpproxy"
)

type testCase struct {
	Env map[string]string `json:"env"`
	URL string            `json:"url"`
}

type result struct {
	Proxy    string `json:"proxy,omitempty"`
	HasProxy bool   `json:"has_proxy,omitempty"`
	Err      string `json:"err,omitempty"`
	URLErr   string `json:"urlerr,omitempty"`
}

type header struct {
	Go       string          `json:"go"`
	Features map[string]bool `json:"features"`
}

func proxyOf(cfg httpproxy.Config, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "urlerr"
	}
	p, err := cfg.ProxyFunc()(u)
	if err != nil || p == nil {
		return ""
	}
	return p.String()
}

func probe() header {
	f := map[string]bool{}
	// x/net 8c07e20 (2023): other schemes are kept as written.
	f["keep_any_proxy_scheme"] = proxyOf(httpproxy.Config{HTTPProxy: "foo://host"}, "http://example.com") == "foo://host"
	// x/net cde1dda (2025): domain entries never match IP hosts ...
	f["domain_entries_skip_ip_hosts"] = proxyOf(httpproxy.Config{HTTPProxy: "p", NoProxy: "0.1"}, "http://10.0.0.1/") != ""
	// ... and the target host is parsed with netip (zones): [::1%25lo] is loopback.
	f["zoned_hosts_are_ips"] = proxyOf(httpproxy.Config{HTTPProxy: "p"}, "http://[::1%25lo]/") == ""
	_, err := url.Parse("http://[1.2.3.4]/")
	f["url_strict_ip_literals"] = err != nil
	_, err = url.Parse("http://a:1:2/")
	f["url_strict_colons"] = err != nil
	f["url_escape_authority_like_path"] = (&url.URL{Scheme: "http", OmitHost: true, Path: "//x"}).String() == "http:%2F/x"
	f["ip_max_four_hex_digits"] = net.ParseIP("00001::") == nil
	return header{Go: runtime.Version(), Features: f}
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(probe()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	dec := json.NewDecoder(in)
	for dec.More() {
		var c testCase
		if err := dec.Decode(&c); err != nil {
			fmt.Fprintln(os.Stderr, "bad input:", err)
			os.Exit(2)
		}
		os.Clearenv()
		for k, v := range c.Env {
			if err := os.Setenv(k, v); err != nil {
				fmt.Fprintln(os.Stderr, "setenv:", err)
				os.Exit(2)
			}
		}
		var r result
		u, err := url.Parse(c.URL)
		if err != nil {
			r.URLErr = err.Error()
		} else {
			p, err := httpproxy.FromEnvironment().ProxyFunc()(u)
			if err != nil {
				r.Err = err.Error()
			} else if p != nil {
				r.Proxy = p.String()
				r.HasProxy = true
			}
		}
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
}
