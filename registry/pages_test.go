package registry

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// recordingPages is a Pages that answers with what it was asked to render.
type recordingPages struct{}

func (recordingPages) Register(e *echo.Echo) {
	e.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "home") })
}

func (recordingPages) PackagePage(c echo.Context, name string) error {
	return c.String(http.StatusOK, "package "+name)
}

func (recordingPages) VersionPage(c echo.Context, name, version string) error {
	return c.String(http.StatusOK, "version "+name+" "+version)
}
