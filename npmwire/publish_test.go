package npmwire

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func body(t *testing.T, name, version string, atts map[string]Attachment) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"_id": name, "name": name,
		"dist-tags":    map[string]string{"latest": version},
		"versions":     map[string]any{version: map[string]any{"name": name, "version": version}},
		"access":       nil,
		"_attachments": atts,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tgz(data string) Attachment {
	return Attachment{ContentType: "application/octet-stream", Data: base64.StdEncoding.EncodeToString([]byte(data)), Length: int64(len(data))}
}

func TestParsePublishBody(t *testing.T) {
	bundle := `{"mediaType":"x"}`
	tests := []struct {
		name       string
		pkg        string
		atts       map[string]Attachment
		raw        string
		wantErr    error
		wantTar    string
		wantBundle string
	}{
		{name: "plain", pkg: "a", atts: map[string]Attachment{"a-1.0.0.tgz": tgz("T")}, wantTar: "T"},
		{name: "scoped with bundle", pkg: "@s/a", atts: map[string]Attachment{
			"@s/a-1.0.0.tgz":      tgz("T"),
			"@s/a-1.0.0.sigstore": {ContentType: "x", Data: bundle, Length: int64(len(bundle))},
		}, wantTar: "T", wantBundle: bundle},
		{name: "base64 bundle tolerated", pkg: "a", atts: map[string]Attachment{
			"a-1.0.0.tgz":      tgz("T"),
			"a-1.0.0.sigstore": {Data: base64.StdEncoding.EncodeToString([]byte(bundle))},
		}, wantTar: "T", wantBundle: bundle},
		{name: "second tarball", pkg: "a", atts: map[string]Attachment{"a-1.0.0.tgz": tgz("T"), "b-1.0.0.tgz": tgz("U")}, wantErr: ErrMalformed},
		{name: "misnamed tarball", pkg: "a", atts: map[string]Attachment{"b-1.0.0.tgz": tgz("T")}, wantErr: ErrMalformed},
		{name: "no tarball", pkg: "a", atts: map[string]Attachment{}, wantErr: ErrMalformed},
		{name: "bad length", pkg: "a", atts: map[string]Attachment{"a-1.0.0.tgz": {Data: tgz("T").Data, Length: 2}}, wantErr: ErrMalformed},
		{name: "bad base64", pkg: "a", atts: map[string]Attachment{"a-1.0.0.tgz": {Data: "!!", Length: 1}}, wantErr: ErrMalformed},
		{name: "second bundle", pkg: "a", atts: map[string]Attachment{"a-1.0.0.tgz": tgz("T"), "a-1.0.1.sigstore": {Data: bundle, Length: int64(len(bundle))}}, wantErr: ErrMalformed},
		{name: "bundle not json", pkg: "a", atts: map[string]Attachment{"a-1.0.0.tgz": tgz("T"), "a-1.0.0.sigstore": {Data: "{nope", Length: 5}}, wantErr: ErrMalformed},
		{name: "trailing data", raw: `{"name":"a","versions":{"1.0.0":{}}} {}`, wantErr: ErrMalformed},
		{name: "two versions", raw: `{"name":"a","versions":{"1.0.0":{},"1.0.1":{}}}`, wantErr: ErrMalformed},
		{name: "id mismatch", raw: `{"_id":"b","name":"a","versions":{"1.0.0":{}}}`, wantErr: ErrMalformed},
		{name: "no name", raw: `{"versions":{"1.0.0":{}}}`, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.raw)
			if tt.raw == "" {
				data = body(t, tt.pkg, "1.0.0", tt.atts)
			}
			b, err := ParsePublishBody(data)
			if err == nil {
				var v string
				v, _ = b.Version()
				var tar, bun []byte
				tar, err = b.Tarball(v, 1<<20)
				if err == nil {
					bun, err = b.Bundle(v, 1<<20)
				}
				if err == nil {
					if string(tar) != tt.wantTar || string(bun) != tt.wantBundle {
						t.Fatalf("got tarball %q bundle %q, want %q %q", tar, bun, tt.wantTar, tt.wantBundle)
					}
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestTarballLimit(t *testing.T) {
	const limit = 1024
	for _, tc := range []struct {
		size    int
		wantErr error
	}{{limit, nil}, {limit + 1, ErrTooLarge}} {
		b, err := ParsePublishBody(body(t, "a", "1.0.0", map[string]Attachment{"a-1.0.0.tgz": tgz(strings.Repeat("x", tc.size))}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Tarball("1.0.0", limit); !errors.Is(err, tc.wantErr) {
			t.Errorf("size %d: err = %v, want %v", tc.size, err, tc.wantErr)
		}
	}
}

func TestPURLAndEscape(t *testing.T) {
	if got := PURL("@npmcli/libnpmpublish-test", "1.0.0"); got != "pkg:npm/%40npmcli/libnpmpublish-test@1.0.0" {
		t.Errorf("PURL = %q", got)
	}
	if got := PURL("gundam-visor", "1.0.1"); got != "pkg:npm/gundam-visor@1.0.1" {
		t.Errorf("PURL = %q", got)
	}
	if got := EscapeName("@s/p"); got != "@s%2fp" {
		t.Errorf("EscapeName = %q", got)
	}
}

func TestKeywords(t *testing.T) {
	for in, want := range map[string]int{`["a","b"]`: 2, `"a, b c"`: 3, `5`: 0} {
		var k Keywords
		if err := json.Unmarshal([]byte(in), &k); err != nil || len(k) != want {
			t.Errorf("%s: %v %v", in, k, err)
		}
	}
}

func FuzzParsePublishBody(f *testing.F) {
	f.Add([]byte(`{"_id":"a","name":"a","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"a","version":"1.0.0"}},"access":null,"_attachments":{"a-1.0.0.tgz":{"content_type":"application/octet-stream","data":"VA==","length":1},"a-1.0.0.sigstore":{"content_type":"x","data":"{}","length":2}}}`))
	f.Add([]byte(`{"name":"@s/a","versions":{"1.0.0":{}},"_attachments":{"@s/a-1.0.0.sigstore":{"data":"e30="}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParsePublishBody(data)
		if err != nil {
			return
		}
		v, _ := b.Version()
		tar, err := b.Tarball(v, 1<<16)
		if err == nil && int64(len(tar)) != b.Attachments[TarballAttachmentName(b.Name, v)].Length {
			t.Fatalf("tarball length mismatch accepted")
		}
		bun, err := b.Bundle(v, 1<<16)
		if err == nil && bun != nil && !json.Valid(bun) {
			t.Fatalf("invalid bundle JSON accepted")
		}
	})
}

// TestBundleLengthIsJavaScriptLength checks that a bundle attachment whose
// length is npm's JSON.stringify(bundle).length (UTF-16 code units) is
// accepted even when the bundle holds non-ASCII text, as real Rekor v1
// checkpoints do ("— rekor.sigstore.dev ..."), and that any other length is
// still rejected.
func TestBundleLengthIsJavaScriptLength(t *testing.T) {
	const name, version = "pkg", "1.0.0"
	bundle := `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","checkpoint":"— rekor 𝄞"}`
	bytesLen := int64(len(bundle))
	jsLen := int64(len([]rune(bundle))) + 1 // 𝄞 is outside the BMP: two UTF-16 code units
	for _, tc := range []struct {
		name   string
		length int64
		ok     bool
	}{
		{"javascript length", jsLen, true},
		{"byte length", bytesLen, true},
		{"one past javascript length", jsLen + 1, false},
		{"one short of javascript length", jsLen - 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := body(t, name, version, map[string]Attachment{
				name + "-" + version + ".tgz":      tgz("tarball"),
				name + "-" + version + ".sigstore": {ContentType: "application/vnd.dev.sigstore.bundle.v0.3+json", Data: bundle, Length: tc.length},
			})
			pb, err := ParsePublishBody(b)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pb.Bundle(version, 1<<20)
			if tc.ok && (err != nil || string(got) != bundle) {
				t.Fatalf("Bundle() = %q, %v; want the bundle", got, err)
			}
			if !tc.ok && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Bundle() error = %v; want ErrMalformed", err)
			}
		})
	}
}
