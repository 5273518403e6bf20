package main

import (
	"image"
	"image/color"
	"math"
)

// A tiny vector renderer: a picture is a stack of layers, each a function
// from a point of the unit square ([0,1]², y down) to a straight-alpha
// colour. Every output pixel averages n×n point samples of the composed
// picture (supersampling), which anti-aliases every edge without a
// rasteriser.

type rgba struct{ r, g, b, a float64 } // straight alpha, 0..1

var clear = rgba{}

// hex parses "#rrggbb".
func hex(s string) rgba {
	var v [3]float64
	for i := range v {
		var n int
		for _, c := range s[1+2*i : 3+2*i] {
			n *= 16
			switch {
			case c >= '0' && c <= '9':
				n += int(c - '0')
			case c >= 'a' && c <= 'f':
				n += int(c-'a') + 10
			case c >= 'A' && c <= 'F':
				n += int(c-'A') + 10
			}
		}
		v[i] = float64(n) / 255
	}
	return rgba{v[0], v[1], v[2], 1}
}

func (c rgba) alpha(a float64) rgba { c.a *= a; return c }

// mix is the linear interpolation from c to d.
func (c rgba) mix(d rgba, t float64) rgba {
	t = clamp(t, 0, 1)
	return rgba{c.r + (d.r-c.r)*t, c.g + (d.g-c.g)*t, c.b + (d.b-c.b)*t, c.a + (d.a-c.a)*t}
}

// over composites c over d (both straight alpha).
func (c rgba) over(d rgba) rgba {
	a := c.a + d.a*(1-c.a)
	if a <= 0 {
		return clear
	}
	return rgba{
		(c.r*c.a + d.r*d.a*(1-c.a)) / a,
		(c.g*c.a + d.g*d.a*(1-c.a)) / a,
		(c.b*c.a + d.b*d.a*(1-c.a)) / a,
		a,
	}
}

type vec struct{ x, y float64 }

func (p vec) sub(q vec) vec       { return vec{p.x - q.x, p.y - q.y} }
func (p vec) add(q vec) vec       { return vec{p.x + q.x, p.y + q.y} }
func (p vec) scale(k float64) vec { return vec{p.x * k, p.y * k} }
func (p vec) dot(q vec) float64   { return p.x*q.x + p.y*q.y }
func (p vec) len() float64        { return math.Hypot(p.x, p.y) }
func (p vec) rot(angle float64) vec {
	s, c := math.Sincos(angle)
	return vec{p.x*c - p.y*s, p.x*s + p.y*c}
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// smooth is a smoothstep from edge0 to edge1.
func smooth(edge0, edge1, v float64) float64 {
	t := clamp((v-edge0)/(edge1-edge0), 0, 1)
	return t * t * (3 - 2*t)
}

// A shape is a signed distance: negative inside, positive outside, in
// unit-square units. Sampling "d < 0" at many points per pixel gives the
// coverage; the distance itself also makes soft shadows and outlines.
type shape func(p vec) float64

// roundBox is a rectangle centred at c with half sizes h and corner radius r.
func roundBox(c, h vec, r float64) shape {
	return func(p vec) float64 {
		q := p.sub(c)
		qx, qy := math.Abs(q.x)-h.x+r, math.Abs(q.y)-h.y+r
		out := vec{math.Max(qx, 0), math.Max(qy, 0)}.len()
		return out + math.Min(math.Max(qx, qy), 0) - r
	}
}

// lens is the canoe-hull outline seen from above: the intersection of two
// discs, pointed at both ends. It is centred at c, half-length a along the
// direction angle, half-width b across it.
func lens(c vec, a, b, angle float64) shape {
	R := (a*a + b*b) / (2 * b) // radius of the two arcs
	d := R - b                 // their centres' distance from the axis
	return func(p vec) float64 {
		q := p.sub(c).rot(-angle)
		q = vec{math.Abs(q.x), math.Abs(q.y)}
		// iq's exact vesica distance, arcs centred at (0, -d).
		if (q.x-a)*d > q.y*a { // the tip's region: nearest point is the tip
			return q.sub(vec{a, 0}).len()
		}
		return vec{q.x, q.y + d}.len() - R
	}
}

// capsule is a segment from a to b with radius r (round ends).
func capsule(a, b vec, r float64) shape {
	return func(p vec) float64 {
		pa, ba := p.sub(a), b.sub(a)
		h := clamp(pa.dot(ba)/ba.dot(ba), 0, 1)
		return pa.sub(ba.scale(h)).len() - r
	}
}

func union(shapes ...shape) shape {
	return func(p vec) float64 {
		d := math.Inf(1)
		for _, s := range shapes {
			d = math.Min(d, s(p))
		}
		return d
	}
}

// A layer paints a colour at a point; alpha 0 where it does not reach.
type layer func(p vec) rgba

// fill paints a shape with a paint (a colour field).
func fill(s shape, paint func(p vec) rgba) layer {
	return func(p vec) rgba {
		if s(p) < 0 {
			return paint(p)
		}
		return clear
	}
}

func solid(c rgba) func(vec) rgba { return func(vec) rgba { return c } }

// linear is a gradient from colour c0 at point p0 to c1 at p1.
func linear(p0, p1 vec, c0, c1 rgba) func(vec) rgba {
	d := p1.sub(p0)
	return func(p vec) rgba { return c0.mix(c1, p.sub(p0).dot(d)/d.dot(d)) }
}

// shadow is a soft shadow of s, offset by off, fading over blur.
func shadow(s shape, off vec, blur float64, c rgba) layer {
	return func(p vec) rgba {
		d := s(p.sub(off))
		return c.alpha(1 - smooth(-blur/2, blur, d))
	}
}

// clip limits a layer to the inside of a shape.
func clip(s shape, l layer) layer {
	return func(p vec) rgba {
		if s(p) < 0 {
			return l(p)
		}
		return clear
	}
}

type picture []layer

func (pic picture) at(p vec) rgba {
	c := clear
	for _, l := range pic {
		if lc := l(p); lc.a > 0 {
			c = lc.over(c)
		}
	}
	return c
}

// render draws pic at size×size pixels with n×n samples per pixel.
func render(pic picture, size, n int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			img.SetNRGBA(x, y, pixel(pic, size, n, x, y))
		}
	}
	return img
}

// pixel is the colour of one pixel: the average of n×n samples, taken in
// premultiplied alpha so transparent samples do not darken the edges.
func pixel(pic picture, size, n, x, y int) color.NRGBA {
	var r, g, b, a float64
	inv, step := 1/float64(size), 1/float64(n)
	for sy := 0; sy < n; sy++ {
		for sx := 0; sx < n; sx++ {
			p := vec{(float64(x) + (float64(sx)+0.5)*step) * inv, (float64(y) + (float64(sy)+0.5)*step) * inv}
			c := pic.at(p)
			r += c.r * c.a
			g += c.g * c.a
			b += c.b * c.a
			a += c.a
		}
	}
	if a == 0 {
		return color.NRGBA{}
	}
	return color.NRGBA{R: to8(r / a), G: to8(g / a), B: to8(b / a), A: to8(a / float64(n*n))}
}

func to8(v float64) uint8 { return uint8(math.Round(clamp(v, 0, 1) * 255)) }
