"""Views of one trial: the Mesa agent model, the dashboard and teaching demonstrations."""
