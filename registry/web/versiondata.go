package web

import (
	"html/template"
	"sort"
	"time"
)

// versionData is the package / version page.
type versionData struct {
	Name, Version, Description string
	// IsLatestPage is true on the package page (no version in the URL).
	IsLatestPage bool
	// Tags are the dist-tags pointing at this version.
	Tags            []string
	Published       time.Time
	InstallCommand  string
	RepositoryURL   string
	Homepage        string
	License         string
	Keywords        []string
	Dependencies    []dependency
	Readme          template.HTML
	ReadmeTruncated bool
	Versions        []versionRow
	DistTags        []distTag
	Panel           *panel
	BadgeURL        string
}

// A versionRow is one line of the version list.
type versionRow struct {
	Version    string
	Published  time.Time
	Tags       []string
	Provenance bool
	Current    bool
}

// A distTag is one dist-tag and the version it points at.
type distTag struct{ Tag, Version string }

// newVersionData builds the page for v of pkg. pkg.Versions must be sorted.
func newVersionData(pkg *Package, v *Version, readme string, latestPage bool, registry string) versionData {
	m := parseManifest(v.Manifest)
	tagsOf := map[string][]string{}
	var tags []distTag
	for tag, ver := range pkg.DistTags {
		tagsOf[ver] = append(tagsOf[ver], tag)
		tags = append(tags, distTag{tag, ver})
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Tag < tags[j].Tag })
	for _, t := range tagsOf {
		sort.Strings(t)
	}
	d := versionData{
		Name:           pkg.Name,
		Version:        v.Version,
		Description:    m.Description,
		IsLatestPage:   latestPage,
		Tags:           tagsOf[v.Version],
		Published:      v.Published,
		InstallCommand: installCommand(pkg.Name, v.Version, latestPage, registry),
		RepositoryURL:  m.repositoryURL(),
		Homepage:       httpURL(m.Homepage),
		License:        m.license(),
		Keywords:       m.keywords(),
		Dependencies:   m.dependencies(),
		DistTags:       tags,
		Panel:          newPanel(v.Provenance),
		BadgeURL:       badgePath(pkg.Name, v.Version),
	}
	if latestPage {
		d.BadgeURL = badgePath(pkg.Name, "")
	}
	d.Readme, d.ReadmeTruncated = renderReadme(readme)
	for _, pv := range pkg.Versions {
		d.Versions = append(d.Versions, versionRow{
			Version:    pv.Version,
			Published:  pv.Published,
			Tags:       tagsOf[pv.Version],
			Provenance: pv.Provenance != nil && pv.Provenance.Provenance,
			Current:    pv.Version == v.Version,
		})
	}
	return d
}

// installCommand is the npm command that installs the version shown, from
// this registry.
func installCommand(name, version string, latest bool, registry string) string {
	spec := name
	if !latest {
		spec += "@" + version
	}
	return "npm install " + spec + " --registry " + registry
}
