package trust_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/provenant/provenant/trust/trusttest"
)

// sigstoreJS signs with npm's own signing stack (@sigstore/sign from the
// npm CLI's node_modules): FulcioSigner + RekorWitness + DSSEBundleBuilder,
// exactly the classes `npm publish --provenance` uses.
const sigstoreJS = `
const path = require('path');
const root = process.argv[2];
const sign = require(path.join(root, 'npm/node_modules/@sigstore/sign'));
const { bundleToJSON } = require(path.join(root, 'npm/node_modules/@sigstore/bundle'));
(async () => {
  const [url, token, entryType] = [process.env.TRUST_URL, process.env.ID_TOKEN, process.env.ENTRY_TYPE];
  const signer = new sign.FulcioSigner({ fulcioBaseURL: url, identityProvider: { getToken: async () => token } });
  const witness = new sign.RekorWitness({ rekorBaseURL: url, entryType });
  const builder = new sign.DSSEBundleBuilder({ signer, witnesses: [witness] });
  const bundle = await builder.create({ data: Buffer.from(process.env.STATEMENT), type: 'application/vnd.in-toto+json' });
  process.stdout.write(JSON.stringify(bundleToJSON(bundle)));
})().catch((e) => { console.error(e); process.exit(1); });
`

func TestSigstoreJSSignAndVerify(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	out, err := exec.Command("npm", "root", "-g").Output()
	if err != nil {
		t.Skipf("npm root -g: %v", err)
	}
	globalRoot := strings.TrimSpace(string(out))
	if _, err := os.Stat(filepath.Join(globalRoot, "npm/node_modules/@sigstore/sign")); err != nil {
		t.Skipf("npm's @sigstore/sign not found: %v", err)
	}
	env := trusttest.Start(t)
	script := filepath.Join(t.TempDir(), "sign.js")
	if err := os.WriteFile(script, []byte(sigstoreJS), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, entryType := range []string{"dsse", "intoto"} {
		t.Run(entryType, func(t *testing.T) {
			cmd := exec.Command(node, script, globalRoot)
			cmd.Env = append(os.Environ(), "TRUST_URL="+env.BaseURL, "ID_TOKEN="+env.IDToken(t, githubJob()), "ENTRY_TYPE="+entryType,
				"STATEMENT="+string(statement("pkg:npm/octo-pkg@1.0.0")))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			raw, err := cmd.Output()
			if err != nil {
				t.Fatalf("sigstore-js: %v\n%s", err, stderr.String())
			}
			b, err := loadBundle(raw)
			if err != nil {
				t.Fatalf("bundle from sigstore-js: %v\n%s", err, raw)
			}
			if _, err := verifier(t, env.TrustedRoot).Verify(b, verify.NewPolicy(artifactPolicy(), githubIdentity(t, env.BaseURL, certificate.Extensions{SourceRepositoryURI: "https://github.com/octo-org/octo-pkg"}))); err != nil {
				t.Fatalf("verify sigstore-js bundle: %v", err)
			}
		})
	}
}
